"""Which tool a problem lives in (kubernetes, aws, linux, ...), by a small learned model.

Word lists tuned on the dev cases named the labelled domain of 0.72 of a held-out author's
messages; a logistic regression over the slot classifier's features (hashed n-grams plus rule
detectors), trained on the labelled phrasings in data/signals, names 0.93 of them
(scripts/train_domain_classifier.py, data/signals/DOMAIN_RESULTS.md). Inference is numpy only,
like the slot model, so the decision stays fast on a cold CLI. The model abstains (None) when
it is more likely wrong than right: a wrong tool costs the answer more than no guess.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from nanoscale.signals.classifier import LinearModel

MODEL_PATH = Path(__file__).with_name("domain_model.npz")


class DomainModel(LinearModel):
    """One-vs-rest logistic regressions exported by scripts/train_domain_classifier.py."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        super().__init__(path)
        self.domains: tuple[str, ...] = tuple(self.meta["domains"])
        self.min_probability: float = float(self.meta["min_probability"])

    def probabilities(self, text: str) -> np.ndarray:
        """P(domain) for each of self.domains: one-vs-rest sigmoids normalised to sum to 1."""
        sigmoids = self.sigmoids(text)
        return sigmoids / sigmoids.sum()

    def classify(self, text: str) -> str | None:
        """The most likely domain, or None when even that one is below the model's threshold or
        the text has no word to go on (the bias alone would name a domain)."""
        if not any(character.isalnum() for character in text):
            return None
        probabilities = self.probabilities(text)
        best = int(np.argmax(probabilities))
        return self.domains[best] if probabilities[best] >= self.min_probability else None


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> DomainModel:
    return DomainModel(path)


def classify(text: str) -> str | None:
    """The domain the text's problem lives in, or None when the model would rather not guess."""
    return load_model().classify(text)
