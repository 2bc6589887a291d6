"""The domain model: numpy inference over exported weights, abstaining when unsure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanoscale.commands import TOOLS
from nanoscale.signals.classifier import N_FEATURES
from nanoscale.signals.domain import DomainModel, load_model

DOMAINS = ["api", "aws", "cicd"]


def write_model(path, bias, n_features=N_FEATURES, min_probability=0.5):
    meta = {
        "domains": DOMAINS,
        "use_rules": False,
        "n_features": n_features,
        "min_probability": min_probability,
    }
    np.savez_compressed(
        path,
        rows=np.array([], dtype=np.uint32),
        values=np.zeros((0, len(DOMAINS)), dtype=np.float32),
        bias=np.array(bias, dtype=np.float64),
        meta=np.array(json.dumps(meta)),
    )
    return path


def test_the_shipped_model_knows_every_domain_the_checks_have_tools_for():
    model = load_model()
    assert set(model.domains) == set(TOOLS)
    assert 0.0 <= model.min_probability < 1.0
    assert model.probabilities("kubectl get pods shows CrashLoopBackOff").sum() == pytest.approx(1.0)


def test_the_most_likely_domain_wins_and_a_flat_guess_abstains(tmp_path):
    leaning = DomainModel(write_model(tmp_path / "leaning.npz", [-4.0, 4.0, -4.0]))
    assert leaning.classify("anything at all") == "aws"
    flat = DomainModel(write_model(tmp_path / "flat.npz", [0.0, 0.0, 0.0]))  # 1/3 each
    assert flat.classify("anything at all") is None
    assert leaning.classify("") is None and leaning.classify("  ?! ") is None  # nothing to go on


def test_a_model_hashed_to_another_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="features"):
        DomainModel(write_model(tmp_path / "odd.npz", [0.0, 0.0, 0.0], n_features=1024))
