"""Train -> merge -> export-gguf -> llama.cpp, end to end on a tiny random Llama (no downloads).

The tiny model borrows SmolLM2's tokenizer (from the packaged GGUF) so the exported GGUF can carry
that GGUF's tokenizer metadata, exactly as a real export does. Reading a real packaged model and
about two minutes of training and export make this an integration test.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nanoscale.config import LoraSettings, TrainingSettings
from nanoscale.errors import InputError
from nanoscale.models import PRESETS, _installed_file
from nanoscale.training.export import check_exports, export_gguf
from nanoscale.training.fit import HISTORY_FILE, TRAIN_FILE, base_folder, fit, read_records
from nanoscale.training.fit import main as fit_main
from nanoscale.training.merge import merge
from nanoscale.training.train import finish, prepare, train

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def smollm2_gguf() -> Path:
    return _installed_file(*PRESETS["smollm2-135m"].package_file)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory, smollm2_gguf) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-base")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        initializer_range=0.3,  # large weights: clear argmaxes, so the llama.cpp check is meaningful
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def eight_examples(tmp_path_factory) -> Path:
    """Four examples of two categories each, so a 0.25 held-out share (one per category, by
    situation) is never empty, whatever order the builder writes the file in."""
    lines = (REPO / "data" / "instructions.jsonl").read_text().splitlines()
    picked = [
        line
        for category in ("aws", "kubernetes")
        for line in [line for line in lines if json.loads(line)["category"] == category][:4]
    ]
    path = tmp_path_factory.mktemp("data") / "eight.jsonl"
    path.write_text("\n".join(picked) + "\n")
    return path


def tiny_config(base: Path, data: Path, **overrides) -> TrainingSettings:
    """Settings small enough for seconds on a CPU; tests override what they exercise."""
    fixed = {
        "max_length": 1024,
        "batch_size": 2,
        "grad_accum": 1,
        "warmup_steps": 0,
        "precision": "fp32",
        "gradient_checkpointing": False,
        "lora": LoraSettings(r=4, alpha=8, dropout=0.0),
    }
    return TrainingSettings(base_model=str(base), data=str(data), **{**fixed, **overrides})


def test_tiny_model_trains_merges_exports_and_runs_in_llama_cpp(
    settings, tiny_base, eight_examples, smollm2_gguf, tmp_path
):
    config = tiny_config(
        tiny_base,
        eight_examples,
        eval_fraction=0.25,
        epochs=1,
        max_steps=3,
        learning_rate=1e-3,
        logging_steps=1,
        eval_steps=2,
        save_steps=2,
    )
    run_dir = train(config, settings, progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["steps"] == 3
    assert metrics["eval_loss_before"] is not None and metrics["eval_loss_after"] is not None
    assert metrics["tokens_seen"] > 0
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert (run_dir / "loss.png").stat().st_size > 1000
    assert "held-out loss before" in (run_dir / "report.md").read_text()
    assert list((run_dir / "checkpoints").glob("checkpoint-*"))

    merged = merge(run_dir, tmp_path / "merged", settings)
    assert (merged / "model.safetensors").is_file()
    assert "base_model:" in (merged / "README.md").read_text()
    assert (
        json.loads((merged / "tokenizer_config.json").read_text())
        or (merged / "chat_template.jinja").exists()
    )

    files = export_gguf(merged, tmp_path / "gguf", ["f16", "q8_0", "q4_k_m"], base_gguf=smollm2_gguf)
    assert set(files) == {"f16", "q8_0", "q4_k_m"}
    assert files["q4_k_m"].stat().st_size < files["q8_0"].stat().st_size
    assert "FROM ./model-q4_k_m.gguf" in (tmp_path / "gguf" / "Modelfile").read_text()

    from llama_cpp import Llama

    for kind in ("q8_0", "q4_k_m"):
        llm = Llama(model_path=str(files[kind]), n_ctx=256, verbose=False)
        out = llm.create_completion("The pod", max_tokens=4, temperature=0.0)
        assert out["usage"]["completion_tokens"] >= 1
    checks = check_exports(merged, {"f16": files["f16"]}, settings.paths.eval_cases, 3, 0.9, tokens=8)
    agreement = checks["f16"]
    assert agreement["positions"] > 0 and agreement["prompts"] == 3
    assert agreement["ok"], agreement
    assert json.loads((tmp_path / "gguf" / "check.json").read_text())["f16"]["ok"]


def test_resume_continues_from_the_last_checkpoint(settings, tiny_base, eight_examples):
    config = tiny_config(tiny_base, eight_examples, eval_fraction=0.0, max_steps=2, save_steps=1)
    run_dir = train(config, settings, progress=False)
    shutil.rmtree(run_dir / "checkpoints" / "checkpoint-2")
    config.max_steps = 3
    resumed = train(config, settings, resume=run_dir, progress=False)
    metrics = json.loads((resumed / "metrics.json").read_text())
    assert metrics["resumed_from"] == "checkpoint-1"
    assert metrics["steps"] == 3


def test_a_prepared_run_fits_on_another_machine_and_finishes_here(
    settings, tiny_base, eight_examples, tmp_path
):
    """prepare -> copy the run and the base elsewhere -> fit there (time-limited) -> finish here."""
    config = tiny_config(tiny_base, eight_examples, eval_fraction=0.25, max_steps=50, logging_steps=1)
    run_dir = prepare(config, settings)
    record = json.loads((run_dir / "config.json").read_text())
    assert record["data"]["train"] == len(read_records(run_dir / TRAIN_FILE)) > 0
    assert not (run_dir / "adapter").exists()

    elsewhere = tmp_path / "gpu-box"
    shutil.copytree(run_dir, elsewhere / "run")
    shutil.copytree(tiny_base, elsewhere / "base")
    metrics = fit(elsewhere / "run", settings, base=str(elsewhere / "base"), progress=False, max_minutes=1e-6)
    assert metrics["steps"] == 1 and metrics["stopped_by_time_limit"]  # the lease ran out after one step
    assert (elsewhere / "run" / "adapter" / "adapter_model.safetensors").is_file()

    for name in ("adapter", "metrics.json", HISTORY_FILE):
        source = elsewhere / "run" / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, run_dir / name)
    report = finish(run_dir, settings).read_text()
    assert "| optimizer steps | 1 |" in report
    assert (run_dir / "loss.png").stat().st_size > 1000
    assert merge(run_dir, tmp_path / "merged", settings).joinpath("model.safetensors").is_file()


def test_fit_refuses_an_unprepared_folder_and_a_missing_base(settings, tmp_path, capsys):
    with pytest.raises(SystemExit):
        fit_main([str(tmp_path)])
    (tmp_path / "config.json").write_text('{"settings": {"lora": {}}}')
    with pytest.raises(SystemExit):
        fit_main([str(tmp_path), "--max-minutes", "0"])
    assert fit_main([str(tmp_path)]) == 2  # prepared wrongly: no train.jsonl
    assert "error:" in capsys.readouterr().err and not (tmp_path / "adapter").exists()
    with pytest.raises(InputError, match="neither a .gguf"):
        base_folder(str(tmp_path / "nothing"), {"base_folder": "x"}, settings)
