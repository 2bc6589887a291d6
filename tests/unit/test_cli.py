"""The CLI's shape and its one-line errors (no model is loaded here)."""

import json
import subprocess
import sys

import pytest

from nanoscale.cli import build_parser, main

COMMANDS = ["ask", "chat", "ingest", "search", "prepare", "models", "config"]


def test_every_command_has_help(capsys):
    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "usage: nanoscale" in capsys.readouterr().out


def test_ask_accepts_every_slot_flag():
    args = build_parser().parse_args(
        [
            "ask",
            "q",
            "--region",
            "eu-west-1",
            "--account",
            "111122223333",
            "--service",
            "ecr",
            "--endpoint",
            "/v1",
            "--method",
            "GET",
            "--auth",
            "bearer",
            "--logs",
            "f.log",
            "--json",
        ]
    )
    assert args.region == "eu-west-1" and args.logs == "f.log" and args.json


def test_bad_preset_is_one_clear_line(tmp_path, capsys):
    code = main(["ask", "--data-dir", str(tmp_path), "--model", "gpt-17", "why?"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: unknown model 'gpt-17'") and "\n" not in err


def test_missing_logs_file_and_empty_question(tmp_path, capsys):
    assert main(["ask", "--data-dir", str(tmp_path), "--logs", str(tmp_path / "no.log"), "q"]) == 2
    assert "logs file not found" in capsys.readouterr().err
    assert main(["ask", "--data-dir", str(tmp_path)]) == 2
    assert "give a question" in capsys.readouterr().err


def test_ingest_nothing_exits_non_zero_without_loading_a_model(tmp_path, capsys, monkeypatch):
    import nanoscale.models

    def no_model(settings):
        raise AssertionError("the embedding model was loaded with nothing to embed")

    monkeypatch.setattr(nanoscale.models, "load_embeddings", no_model)
    assert main(["ingest", "--data-dir", str(tmp_path), str(tmp_path / "missing")]) == 2
    assert "nothing could be ingested" in capsys.readouterr().err


def test_models_and_config_json(tmp_path, capsys):
    assert main(["models", "--data-dir", str(tmp_path), "--json"]) == 0
    names = [row["name"] for row in json.loads(capsys.readouterr().out)]
    assert "qwen2.5-coder-1.5b" in names and "smollm2-135m" in names
    assert main(["config", "--data-dir", str(tmp_path), "--backend", "llamacpp"]) == 0
    out = capsys.readouterr().out
    assert "backend: llamacpp" in out and str(tmp_path) in out


def test_console_script_is_installed():
    result = subprocess.run([sys.executable, "-m", "nanoscale.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "ingest" in result.stdout


def test_chat_turns_with_clarification(monkeypatch, capsys, settings):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langgraph.checkpoint.memory import InMemorySaver

    from nanoscale.cli import ask
    from nanoscale.engine import Engine
    from nanoscale.resources import Resources

    model = FakeListChatModel(responses=["Attach the ECR read-only policy to the instance role."])
    engine = Engine(settings, Resources(model, None, None, len), checkpointer=InMemorySaver())
    monkeypatch.setattr(ask, "open_engine", lambda args: engine)
    replies = iter(["EC2 cannot pull image from ECR", "eu-west-1", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(replies))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "which AWS region" in out
    assert "Attach the ECR read-only policy" in out
    assert "Still missing" not in out


def test_eval_without_a_tuned_model_says_how_to_make_one(tmp_path, capsys):
    assert main(["eval", "--data-dir", str(tmp_path), "--system", "tuned", "--limit", "1"]) == 2
    assert "no tuned model yet" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q"}\n{broken\n')
    assert main(["eval", "--data-dir", str(tmp_path), "--cases", str(bad)]) == 2
    assert f"{bad}:2: malformed JSON" in capsys.readouterr().err
