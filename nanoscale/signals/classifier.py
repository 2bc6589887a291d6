"""Which slots a message needs asked, by a small learned model instead of hand-written rules.

The decision runs before any answer is generated and a cold CLI must make it fast, so inference
is numpy only: a logistic regression per slot over hashed word 1-2-grams, character 3-5-grams
and, when the model was trained with them (its `use_rules` flag), a few rule detectors (region
present, error text present, AWS service named, HTTP status, Kubernetes event reason). Hashing
uses zlib.crc32, never Python's salted hash(), so training (scripts/train_slot_classifier.py) and
inference see the same feature indices.

The model only says which slots are *needed*; a slot whose value the message already states
(found by the rule extractors) is never asked: `needed_slots = needed - present`.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

SLOTS = ("region", "account", "service", "logs", "endpoint", "method", "auth")
MODEL_PATH = Path(__file__).with_name("slot_model.npz")
N_FEATURES = 1 << 18

_WORD = re.compile(r"[a-z0-9]+")
_LONG_NUMBER = re.compile(r"^\d{5,}$")
_DIGIT = re.compile(r"\d")
_HTTP_STATUS = re.compile(
    r"\b[1-5]\d\d\b|\b(unauthorized|forbidden|too many requests|bad gateway|gateway time-?out|"
    r"service unavailable|not found|bad request|internal server error)\b",
    re.IGNORECASE,
)
_K8S_REASON = re.compile(
    r"\b(CrashLoopBackOff|OOMKilled|ImagePullBackOff|ErrImagePull|CreateContainerConfigError|"
    r"CreateContainerError|ContainerCreating|FailedScheduling|FailedMount|FailedAttachVolume|Evicted|"
    r"NotReady|Pending|Terminating|BackoffLimitExceeded|DeadlineExceeded|Unhealthy|Completed|Error)\b"
)
_K8S_FORBIDDEN = re.compile(
    r"is forbidden:|exceeded quota|cannot (get|list|watch|create|patch|delete) resource"
)
_REGISTRY = re.compile(
    r"toomanyrequests|pull rate limit|pull access denied|registry-1\.docker\.io|docker hub", re.I
)


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & (N_FEATURES - 1)


def _block(counts: dict[int, float]) -> dict[int, float]:
    """Sublinear term frequency, L2-normalised, so long pasted logs do not drown short cues."""
    weighted = {index: 1.0 + math.log(count) for index, count in counts.items()}
    norm = math.sqrt(sum(value * value for value in weighted.values())) or 1.0
    return {index: value / norm for index, value in weighted.items()}


def text_features(text: str) -> dict[int, float]:
    """Hashed word unigrams and bigrams plus character 3-5-grams within whitespace tokens."""
    lowered = text.lower()
    words = ["#num" if _LONG_NUMBER.match(word) else word for word in _WORD.findall(lowered)]
    word_counts: dict[int, float] = {}
    for feature in [f"w:{w}" for w in words] + [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]:
        index = _hash(feature)
        word_counts[index] = word_counts.get(index, 0.0) + 1.0
    char_counts: dict[int, float] = {}
    for token in _DIGIT.sub("0", lowered).split():
        padded = f" {token} "
        for size in (3, 4, 5):
            for start in range(len(padded) - size + 1):
                index = _hash(f"c:{padded[start : start + size]}")
                char_counts[index] = char_counts.get(index, 0.0) + 1.0
    features = _block(word_counts)
    for index, value in _block(char_counts).items():
        features[index] = features.get(index, 0.0) + value
    return features


def rule_flags(text: str) -> list[str]:
    """Names of the rule detectors that fire on text: facts the rules see more reliably than n-grams."""
    from nanoscale.signals import api, aws, logs

    services = aws.find_services(text)
    flags = {
        "region_present": aws.find_region(text) is not None,
        "account_present": aws.find_account(text) is not None,
        "aws_context": aws.is_aws_question(text),
        "aws_service_named": bool(services),
        "aws_regional_service": bool(set(services) & set(aws.REGIONAL_SERVICES)),
        "error_text_present": logs.has_evidence(text),
        "failure_described": logs.describes_failure(text),
        "http_status_present": bool(_HTTP_STATUS.search(text)),
        "k8s_reason_present": bool(_K8S_REASON.search(text)),
        "k8s_forbidden": bool(_K8S_FORBIDDEN.search(text)),
        "registry_error": bool(_REGISTRY.search(text)),
        "endpoint_present": api.find_endpoint(text) is not None,
        "method_present": api.find_method(text) is not None,
        "auth_present": api.find_auth(text) is not None,
        "api_problem": api.is_api_problem(text),
    }
    return [name for name, fired in flags.items() if fired]


def features(text: str, use_rules: bool) -> dict[int, float]:
    """The feature vector of one message as {hashed index: value}."""
    vector = text_features(text)
    if use_rules:
        for flag in rule_flags(text):
            index = _hash(f"r:{flag}")
            vector[index] = vector.get(index, 0.0) + 1.0
    return vector


def present_slots(text: str) -> set[str]:
    """Slots whose value the text already states, by the project's rule extractors."""
    from nanoscale.signals import api, aws

    finders = {
        "region": aws.find_region,
        "account": aws.find_account,
        "endpoint": api.find_endpoint,
        "method": api.find_method,
        "auth": api.find_auth,
    }
    return {slot for slot, find in finders.items() if find(text)}


class LinearModel:
    """Logistic regressions over the hashed features, one column each, as the training scripts
    export them (only non-zero hash rows stored); shared by the slot and domain models."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as data:
            self.meta = json.loads(str(data["meta"]))
            if int(self.meta["n_features"]) != N_FEATURES:
                raise ValueError(
                    f"{path}: model has {self.meta['n_features']} features, code hashes to {N_FEATURES}"
                )
            self.use_rules: bool = bool(self.meta["use_rules"])
            self.weights = np.zeros((N_FEATURES, data["values"].shape[1]), dtype=np.float32)
            self.weights[data["rows"]] = data["values"].astype(np.float32)
            self.bias = data["bias"].astype(np.float64)
            self.arrays = {
                key: data[key] for key in data.files if key not in ("meta", "rows", "values", "bias")
            }

    def sigmoids(self, text: str) -> np.ndarray:
        """Each column's probability for the text, in column order."""
        vector = features(text, self.use_rules)
        indices = np.fromiter(vector.keys(), dtype=np.int64, count=len(vector))
        values = np.fromiter(vector.values(), dtype=np.float64, count=len(vector))
        scores = values @ self.weights[indices].astype(np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-scores))


class SlotModel(LinearModel):
    """Per-slot logistic regressions exported by scripts/train_slot_classifier.py."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        super().__init__(path)
        self.slots: tuple[str, ...] = tuple(self.meta["slots"])
        self.thresholds = self.arrays["thresholds"].astype(np.float64)

    def probabilities(self, text: str) -> np.ndarray:
        """P(slot needed) for each of self.slots, in that order."""
        return self.sigmoids(text)

    def needed(self, text: str) -> list[str]:
        """Slots the model says an engineer would ask for, before removing those already stated."""
        above = self.probabilities(text) >= self.thresholds
        return [slot for slot, wanted in zip(self.slots, above, strict=True) if wanted]


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> SlotModel:
    return SlotModel(path)


def needed_slots(text: str, present: Iterable[str] | None = None) -> list[str]:
    """Slots to ask for: what the classifier needs minus what the text (or `present`) already holds."""
    known = present_slots(text) if present is None else set(present)
    return [slot for slot in load_model().needed(text) if slot not in known]
