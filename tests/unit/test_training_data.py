"""The instruction set and its validator: the committed file is valid, current, and bad lines stop a run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nanoscale.config import Settings
from nanoscale.training.dataset import DataError, Example, load_examples, split, stats

REPO = Path(__file__).resolve().parent.parent.parent
DATA = REPO / "data" / "instructions.jsonl"
GOOD = {"instruction": "Pod in CrashLoopBackOff, why?", "output": "Most likely: the process exits on start."}


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_committed_instruction_set_meets_the_issue(tmp_path):
    summary = stats(load_examples(DATA, tmp_path))
    assert summary["examples"] >= 600
    assert summary["tool_aware"] >= 150
    assert summary["with_context"] >= 200
    assert summary["not_covered"] > 0
    assert {"aws", "docker", "kubernetes", "cicd", "terraform", "api", "linux"} <= set(summary["by_category"])


def test_builder_reproduces_the_committed_file():
    """The committed file is the builder's output, in order, less the examples decontamination
    left out (scripts/check_sealed.py, run by tests/integration/test_sealed_testset.py, checks what is left)."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import build_instructions
    finally:
        sys.path.remove(str(REPO / "scripts"))
    built = [json.dumps(example, ensure_ascii=False) for example in build_instructions.build()]
    committed = DATA.read_text().splitlines()
    kept = set(committed)
    assert [line for line in built if line in kept] == committed
    assert len(committed) >= 0.8 * len(built)  # decontamination leaves most of it


def test_rendered_prompt_uses_the_graph_layout(tmp_path):
    examples = load_examples(DATA, tmp_path)
    with_context = next(e for e in examples if e.context and e.slots.get("region"))
    system, user = with_context.messages()
    assert system["role"] == "system" and "OpenNanoScaleLLM" in system["content"]
    assert user["content"].startswith("Context:\n[1] (")
    assert f"Known from the user: region: {with_context.slots['region']}" in user["content"]
    asking = next(e for e in examples if e.missing == ["region"])
    assert "Not provided by the user: the AWS region" in asking.messages()[1]["content"]
    assert "Context:" not in asking.messages()[1]["content"]
    record = asking.record()
    assert record["completion"] == [{"role": "assistant", "content": asking.output}]


def test_split_is_seeded_and_disjoint(tmp_path):
    examples = load_examples(DATA, tmp_path)
    train_a, held_a = split(examples, 0.1, 7)
    train_b, held_b = split(examples, 0.1, 7)
    assert [e.line for e in held_a] == [e.line for e in held_b]
    assert not {e.line for e in train_a} & {e.line for e in held_a}
    assert len(train_a) + len(held_a) == len(examples)
    assert {e.category for e in held_a} == {e.category for e in examples}
    # held out by situation: no problem is seen in training in other words
    assert all(e.situation for e in examples)
    assert not {e.situation for e in train_a} & {e.situation for e in held_a}


def test_split_keeps_a_situation_together_and_a_lone_one_in_training():
    def example(n: int, situation: str, category: str = "aws") -> Example:
        return Example(
            f"question {n}?", "an answer long enough to pass", category=category, situation=situation, line=n
        )

    examples = [example(n, f"s{n // 3}") for n in range(30)] + [example(99, "only", "linux")]
    train, held_out = split(examples, 0.2, 1)
    held = {e.situation for e in held_out}
    assert held and not held & {e.situation for e in train}
    assert all(sum(e.situation == s for e in held_out) == 3 for s in held)  # whole groups of three
    assert any(e.situation == "only" for e in train)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"instruction": "x", "output": ', "malformed JSON"),
        (json.dumps({"instruction": "q?"}), "missing or empty field 'output'"),
        (json.dumps({**GOOD, "slots": {"zone": "a"}}), "unknown slot 'zone'"),
        (json.dumps({**GOOD, "missing": ["colour"]}), "unknown slot 'colour'"),
        (json.dumps({**GOOD, "answer": "x"}), "unknown field(s) answer"),
        (json.dumps({**GOOD, "category": "cooking"}), "unknown category"),
        (json.dumps({**GOOD, "missing": ["region"]}), "asks nothing"),
        (json.dumps({**GOOD, "context": "[1] (a.md)\ntext"}), "must cite a block"),
        (json.dumps({**GOOD, "context": "[1] (a.md)\ntext", "output": GOOD["output"] + " [3]"}), "[3]"),
        (
            json.dumps({**GOOD, "output": "Run `aws ec2 describe-everything` now, then check."}),
            "describe-everything",
        ),
        (
            json.dumps({**GOOD, "output": "Grant iam:PassRoles to the role before deploying."}),
            "iam:PassRoles",
        ),
        (json.dumps({**GOOD, "instruction": "x" * 3000}), "over the limit"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_lines_name_the_line(tmp_path, line, message):
    path = write(tmp_path, json.dumps(GOOD), line)
    with pytest.raises(DataError) as caught:
        load_examples(path, tmp_path)
    assert f"{path}:2:" in str(caught.value)
    assert message in str(caught.value)


def test_an_index_in_an_error_text_is_not_a_citation(tmp_path):
    output = "The event says spec.containers[0].volumeMounts[0].name: Not found. Check the volumes [1]."
    line = json.dumps({**GOOD, "context": "[1] (a.md)\ntext", "output": output})
    assert len(load_examples(write(tmp_path, line), tmp_path)) == 1
    with pytest.raises(DataError, match=r"\[2\]"):
        load_examples(
            write(tmp_path, json.dumps({**GOOD, "context": "[1] (a.md)\ntext", "output": output + " [2]"})),
            tmp_path,
        )


def test_duplicates_binary_and_empty_files_are_refused(tmp_path):
    with pytest.raises(DataError, match="duplicate of line 1"):
        load_examples(write(tmp_path, json.dumps(GOOD), json.dumps(GOOD)), tmp_path)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_examples(binary, tmp_path)
    with pytest.raises(DataError, match="no examples"):
        load_examples(write(tmp_path, ""), tmp_path)
    with pytest.raises(DataError, match="no such file"):
        load_examples(tmp_path / "absent.jsonl", tmp_path)


def test_train_cli_stops_on_a_bad_line_before_loading_a_model(tmp_path):
    path = write(tmp_path, json.dumps(GOOD), json.dumps({**GOOD, "slots": {"zone": "a"}}))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nanoscale.cli",
            "train",
            "--preset",
            "smoke",
            "--data",
            str(path),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"{path}:2: unknown slot 'zone'" in done.stderr
    assert not (tmp_path / "d" / "runs").exists() or not list((tmp_path / "d" / "runs").glob("train-*"))


def test_presets_and_flags_layer_over_the_yaml():
    settings = Settings.load(env={})
    quick = settings.training_preset("cpu-quick")
    assert quick.base_model == "qwen2.5-coder-0.5b" and quick.preset == "cpu-quick"
    assert quick.gradient_checkpointing is False and settings.training.gradient_checkpointing is True
    assert settings.training_preset("smoke").base_model == "smollm2-135m"
    full = settings.training_preset()
    assert full.base_model == "qwen2.5-coder-1.5b" and full.lora.r == 16
    assert settings.training_preset("smoke", {"learning_rate": 1e-5}).learning_rate == 1e-5
    with pytest.raises(Exception, match="unknown training preset"):
        settings.training_preset("huge")


def test_training_yaml_is_coerced_like_every_other_setting():
    """The string "false" is False (the old training reader made it True)."""
    settings = Settings.load(env={"NANOSCALE_TRAINING_GRADIENT_CHECKPOINTING": "false"})
    assert settings.training.gradient_checkpointing is False
    with pytest.raises(Exception, match="expects int"):
        settings.training_preset(None, {"max_steps": "many"})


def test_merge_and_export_refuse_missing_inputs_with_one_line(tmp_path, capsys):
    from nanoscale.cli import main

    data_dir = tmp_path / "d"
    assert main(["merge", "--data-dir", str(data_dir)]) == 2
    assert "no training run" in capsys.readouterr().err
    unfinished = data_dir / "runs" / "train-1"
    unfinished.mkdir(parents=True)
    (unfinished / "config.json").write_text("{}")
    assert main(["merge", "--data-dir", str(data_dir), "--run", "train-1"]) == 2
    assert "no finished adapter" in capsys.readouterr().err
    assert main(["export-gguf", "--data-dir", str(data_dir), "--merged", str(tmp_path / "none")]) == 2
    assert "run `nanoscale merge` first" in capsys.readouterr().err
    assert not (data_dir / "tuned").exists()
