"""benchmarks/gpu.py --smoke on this CPU: the GPU script's own code paths at a tiny size.

A bundle from the packaged SmolLM2 (its tokenizer, grounded prompts from the project's knowledge
base), then the full smoke (project backend, `nanoscale train --preset gpu` through the CLI shim,
vLLM recorded as not run) and the transformers part again without langchain (the fallback that
runs when langchain-huggingface cannot be imported on a GPU machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import REPO, TEST_DATA

pytestmark = pytest.mark.bench


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "NANOSCALE_DATA_DIR": str(TEST_DATA)}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def bundle(project_kb, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu") / "bundle"
    done = run("benchmarks/gpu_bundle.py", "--model", "smollm2-135m", "--out", str(folder), "--prompts", "4")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return folder


def test_bundle_holds_shape_tokenizer_and_grounded_prompts(bundle):
    assert {"config.json", "tokenizer.json", "generation_config.json", "prompts.json", "bundle.json"} <= {
        p.name for p in bundle.iterdir()
    }
    prompts = json.loads((bundle / "prompts.json").read_text())["messages"]
    assert len(prompts) == 4 and all(p[0]["role"] == "system" and p[1]["role"] == "user" for p in prompts)
    assert all("Context:" in p[1]["content"] for p in prompts)  # retrieved sections, not bare questions
    assert all(n > 100 for n in json.loads((bundle / "bundle.json").read_text())["prompt_tokens"])


def test_gpu_smoke_measures_generation_and_training_and_records_vllm_as_not_run(bundle, tmp_path):
    out = tmp_path / "gpu.json"
    done = run("benchmarks/gpu.py", "--smoke", "--bundle", str(bundle), "--out", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    parts = result["parts"]

    assert result["benchmark"] == "gpu" and result["smoke"] is True and result["device"]["device"] == "cpu"
    assert parts["model"]["status"] == "ran" and parts["model"]["config"]["num_hidden_layers"] == 2
    hf = parts["transformers"]
    assert hf["status"] == "ran" and "HuggingFacePipeline" in hf["path"]
    assert hf["tokens_as_asked"] is True and hf["ttft_s"]["median"] > 0
    assert hf["single_stream"]["decode_tokens_per_s"]["median"] > 0
    assert set(hf["concurrent"]) == {"2", "4"}
    assert all(level["status"] == "ran" and level["tokens_as_asked"] for level in hf["concurrent"].values())

    training = parts["training"]
    assert training["status"] == "ran", training
    assert training["steps"] == 2 and training["tokens_per_s"] > 0
    assert "--preset gpu" in training["command"] and "--max-steps 2" in training["command"]
    assert training["full_run"]["extrapolated_total_s"] > training["full_run"]["extrapolated_train_s"] > 0
    assert not {"train_loss", "eval_loss_before", "eval_loss_after"} & set(training)  # random weights

    assert parts["vllm"]["status"] == "not run" and "not installed" in parts["vllm"]["reason"]
    assert result["tuned"]["status"] == "not measured"
    summary = out.with_suffix(".md").read_text()
    assert "- vllm: not run: not installed" in summary and "extrapolated" in summary


def test_gpu_smoke_without_langchain_uses_a_plain_pipeline(bundle, tmp_path):
    out = tmp_path / "plain.json"
    done = run("benchmarks/gpu.py", "--smoke", "--bundle", str(bundle), "--out", str(out),
               "--parts", "transformers", "--no-langchain")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    parts = json.loads(out.read_text())["parts"]

    assert parts["transformers"]["status"] == "ran" and parts["transformers"]["path"].startswith("transformers.pipeline")
    assert parts["transformers"]["tokens_as_asked"] is True
    assert parts["training"]["status"] == "not run" and parts["vllm"]["status"] == "not run"
