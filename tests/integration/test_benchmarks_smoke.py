"""Every benchmark script runs end to end at its smoke size (SmolLM2, a few runs).

No speed is asserted (speed lives in `make bench`); each step must exit 0 and write a result with
the machine's facts and figures that are real measurements (positive rates, answered requests).
The GPU script's smoke runs in test_gpu_benchmark_smoke.py (twice, with its bundle), not again here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.conftest import REPO, TEST_DATA

pytestmark = pytest.mark.bench
STEPS = (
    "retrieval",
    "generation",
    "ttft",
    "transformers_cpu",
    "training",
    "load",
    "cold_start",
    "llama_builds",
)


def test_every_benchmark_runs_at_smoke_size(project_kb, tmp_path):
    env = {**os.environ, "NANOSCALE_DATA_DIR": str(TEST_DATA)}
    done = subprocess.run(
        [
            sys.executable,
            "benchmarks/run_all.py",
            "--smoke",
            "--only",
            *STEPS,
            "--results",
            str(tmp_path),
            "--out",
            str(tmp_path / "bench.json"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    suite = json.loads((tmp_path / "bench.json").read_text())
    assert set(suite["steps"]) == set(STEPS)
    assert all(step["exit"] == 0 and step["seconds"] > 0 for step in suite["steps"].values())

    results = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in suite["steps"]}
    assert all(r["machine"]["cores"] >= 1 for r in results.values())
    project = results["retrieval"]["corpora"]["project"]
    assert project["ours"]["chunks"] > 100 and project["ours"]["recall@5"] >= 0.9
    generation = results["generation"]["results"]
    assert set(generation) == {"transformers", "llamacpp", "anchor", "graph"}
    assert all(system["tokens_per_s"]["median"] > 0 for system in generation.values())
    assert generation["graph"]["overhead_ms"]["median"] > 0
    assert all(level["ttft_p50_s"] > 0 for level in results["ttft"]["results"].values())
    assert results["transformers_cpu"]["results"]["fp32"]["same_tokens"] == 1.0
    assert results["training"]["results"]["ours"]["tokens_per_s"]["median"] > 0
    levels = results["load"]["levels"]
    assert [level["clients"] for level in levels] == [1, 2]
    assert all(level["answered"] >= 1 and level["unexpected_5xx"] == 0 for level in levels)
    cold = results["cold_start"]
    assert cold["needs_input"]["seconds"]["median"] > 0 and cold["answer"]["tokens"]["median"] > 0
    assert cold["anchor"]["peak_mb"]["median"] > 0 and cold["answer_vs_anchor"]["median"] > 0
    build = results["llama_builds"]["builds"]["this-cpu"]
    assert build["prefill_tps"]["median"] > 0 and build["decode_ratio"] == 1.0
