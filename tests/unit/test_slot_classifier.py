"""The learned slot classifier: the shipped weights load, numpy inference equals training, behaviour."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanoscale.signals import classifier
from nanoscale.signals.classifier import SLOTS, SlotModel, needed_slots


def test_shipped_model_loads_and_predicts_one_probability_per_slot() -> None:
    model = SlotModel()
    probabilities = model.probabilities("why did my pipeline fail?")
    assert model.slots == SLOTS
    assert probabilities.shape == (len(SLOTS),)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert model.thresholds.shape == (len(SLOTS),)
    assert classifier.MODEL_PATH.stat().st_size < 2 * 1024 * 1024


def test_hashing_is_deterministic_and_independent_of_python_hash_seed() -> None:
    import subprocess
    import sys

    code = "from nanoscale.signals.classifier import text_features as f; print(sorted(f('EKS nodes NotReady'))[:5])"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


@pytest.mark.parametrize("use_rules", [False, True])
def test_numpy_inference_equals_the_training_pipeline(tmp_path, use_rules: bool) -> None:
    """Train scikit-learn on a tiny set, export like the training script, compare probabilities."""
    sklearn = pytest.importorskip("sklearn")
    assert sklearn
    from scripts.train_slot_classifier import export, fit, hashed_matrix

    texts = [
        "our lambda keeps failing",
        "lambda in eu-west-1 keeps failing",
        "our API returns 401",
        "GET https://api.acme.io/v1/x returns 401 with a bearer token",
        "why did job x fail?",
        "job x failed: exit code 1",
        "cross-account assume role fails",
        "we keep getting throttled on AWS",
    ]
    labels = np.array(
        [
            [s in row for s in SLOTS]
            for row in (
                {"region", "logs"},
                {"logs"},
                {"endpoint", "method", "auth"},
                set(),
                {"logs"},
                set(),
                {"account"},
                {"service"},
            )
        ]
    )
    x = hashed_matrix(texts, use_rules)
    models = [fit(x, labels[:, j], 1.0) for j in range(len(SLOTS))]
    path = tmp_path / "model.npz"
    export(models, np.full(len(SLOTS), 0.5), use_rules, path)
    model = SlotModel(path)
    probes = [
        "my ecs service won't start",
        "POST /v1/orders returns 415",
        "which terraform workspace holds the staging state file",
    ]
    expected = np.stack([m.predict_proba(hashed_matrix(probes, use_rules))[:, 1] for m in models], axis=1)
    got = np.stack([model.probabilities(text) for text in probes])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_stated_slot_is_never_asked_even_when_the_model_wants_it() -> None:
    text = "our lambda keeps failing"
    wanted = classifier.load_model().needed(text)
    assert needed_slots(text, present=wanted) == []


def test_model_metadata_names_every_slot() -> None:
    with np.load(classifier.MODEL_PATH) as data:
        meta = json.loads(str(data["meta"]))
    assert tuple(meta["slots"]) == SLOTS


# Clearly labelled messages written for this test only (not in data/signals/phrasings.jsonl).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'kubectl apply says: admission webhook "validate.kyverno.svc" denied the request: '
            "resource Deployment/web/shop was blocked due to require-labels; the request is forbidden",
            set(),
        ),
        ("docker pull grafana/grafana:11: toomanyrequests: You have reached your pull rate limit", set()),
        ("What is the issue with statefulset zookeeper?", {"logs"}),
        ("why did the job invoice-sync fail last night?", {"logs"}),
        ("our ec2 instance can't reach the internet since this morning", {"region"}),
        ("our ec2 instance in eu-west-3 can't reach the internet since this morning", set()),
        ("the customers API returns 401 for the new frontend", {"endpoint", "method", "auth"}),
        ("How do I give an EC2 instance an IAM role?", set()),
        ("S3 GetObject returns 403 Access Denied for files another account uploaded to our bucket", set()),
    ],
)
def test_behaviour_on_unseen_messages(text: str, expected: set[str]) -> None:
    assert set(needed_slots(text)) == expected
