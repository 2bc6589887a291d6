"""A new user's first command on a fresh data dir answers, without `make run` or `ingest` first."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.integration.conftest import REPO, run_cli

pytestmark = pytest.mark.integration


def test_first_ask_on_a_fresh_data_dir_builds_the_knowledge_base_and_answers(tmp_path) -> None:
    # the configured knowledge-base folder holds one of the project's files: the same first-run
    # path (ONNX export, ingest, answer) without embedding the whole corpus again
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(REPO / "data" / "raw" / "aws_ecr.md", raw)
    env = {"NANOSCALE_DATA_DIR": str(tmp_path / "data"), "NANOSCALE_PATHS_KNOWLEDGE_BASE": str(raw)}
    question = "EC2 instance cannot pull an image from ECR: no basic auth credentials"
    result = run_cli("ask", "--json", "--region", "eu-west-1", question, **env)
    assert result.returncode == 0, result.stderr
    assert "building 'default'" in result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "answer" and out["sources"]
    assert {source["source"] for source in out["sources"]} == {"aws_ecr.md"}
    again = run_cli("ask", "--json", "--region", "eu-west-1", question, **env)
    assert again.returncode == 0 and "building" not in again.stderr


def test_a_clarification_on_a_fresh_data_dir_loads_nothing(tmp_path) -> None:
    result = run_cli("ask", "--json", "EC2 instance cannot pull an image from ECR", NANOSCALE_DATA_DIR=str(tmp_path))
    assert json.loads(result.stdout)["status"] == "needs_input"
    assert not (tmp_path / "index").exists()  # neither the knowledge base nor a model was touched
