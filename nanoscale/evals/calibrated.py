"""Groundedness corrected for the judge's measured errors, with an interval that carries them.

`verify`'s judge passes some unsupported sentences and rejects some supported ones (How the judge
was checked, in the README), so the share of sentences it calls supported is not the truth.
Its two error rates are measured on the hand-labelled pairs (data/judge/pairs.jsonl): the
sensitivity (supported sentences it passes) and the specificity (unsupported ones it rejects).
The share a perfect judge would see then follows from the observed one (Rogan and Gladen, 1978):

    true = (observed + specificity - 1) / (sensitivity + specificity - 1)

The judge's rates differ by system: `rag` answers reuse the context's words, so overlap passes
them, while `base` answers say the same things in other words. Rates are therefore taken from
the labelled sentences of the same kind of system (`base`, `rag`) and a system with none gets no
estimate. Where the judge is barely better than chance on the labels (sensitivity + specificity
- 1 below MIN_INFORMEDNESS) a point of observed share moves the estimate by many points, so none
is reported either. The interval resamples the eval's cases and the labelled cases together.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nanoscale.evals.intervals import RESAMPLES, SEED
from nanoscale.evals.judge_calibration import counts_by_case, predict, score_pairs

if TYPE_CHECKING:
    from nanoscale.config import Settings

# Below this the estimate moves more than 6 points per point of observed share: not reported.
MIN_INFORMEDNESS = 0.15


def judge_counts(case_ids: Sequence[str], truth: np.ndarray, passed: np.ndarray) -> np.ndarray:
    """(cases, 4) per labelled case: supported sentences passed, supported sentences, unsupported
    sentences rejected, unsupported sentences. Cases are the unit the interval resamples."""
    supported = counts_by_case(case_ids, truth, passed, positive=True)  # tp, fp, fn
    unsupported = counts_by_case(case_ids, truth, passed, positive=False)
    return np.column_stack(
        [
            supported[:, 0],
            supported[:, 0] + supported[:, 2],
            unsupported[:, 0],
            unsupported[:, 0] + unsupported[:, 2],
        ]
    )


def corrected(observed: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The true share for each observed share and each row of summed judge counts; NaN where the
    judge is too close to chance on those counts (MIN_INFORMEDNESS) to say anything about the truth."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = counts[..., 0] / counts[..., 1]
        specificity = counts[..., 2] / counts[..., 3]
        informedness = sensitivity + specificity - 1
        value = (observed + specificity - 1) / informedness
    return np.where(informedness >= MIN_INFORMEDNESS, np.clip(value, 0.0, 1.0), np.nan)


def calibrated_groundedness(
    shares: Sequence[float | None], counts: np.ndarray | None, resamples: int = RESAMPLES, seed: int = SEED
) -> dict | None:
    """Mean corrected groundedness and its percentile 95% interval, resampling the eval's cases
    (their groundedness shares) and the labelled cases (the judge's counts) independently."""
    data = np.array([float(s) for s in shares if s is not None])
    if counts is None or data.size == 0 or len(counts) == 0:
        return None
    value = float(corrected(np.array(data.mean()), counts.sum(axis=0)))
    if np.isnan(value):
        return None
    rng = np.random.default_rng(seed)
    observed = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    judged = counts[rng.integers(0, len(counts), size=(resamples, len(counts)))].sum(axis=1)
    values = corrected(observed, judged)
    values = values[~np.isnan(values)]
    if values.size == 0:  # no resample left the judge far enough from chance
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return {
        "mean": value,
        "low": float(low),
        "high": float(high),
        "n": int(data.size),
        "labelled_cases": len(counts),
    }


def system_kind(system: str) -> str:
    """`rag@qwen2.5-coder-1.5b` -> `rag`: the kind of system whose labelled sentences calibrate it."""
    return system.split("@", 1)[0]


def label_counts(settings: Settings) -> dict[str, np.ndarray] | None:
    """verify's judge, at the configured thresholds, on every labelled pair: per-case counts for
    each kind of system, cached by the pairs file, the thresholds and the embedding model. None
    without a pairs file.

    The judge sees each pair's evidence plus the case's question, as it does in the graph and the
    eval (`verify.evidence_of`), while the label says whether the evidence alone supports the
    sentence: a sentence that only restates the question is a pass the label calls wrong."""
    from nanoscale.evals.judge_pairs import load_pairs
    from nanoscale.retrievers.ingest import embedding_id

    path = settings.paths.judge_pairs
    if not path.is_file():
        return None
    graph = settings.graph
    thresholds = {"similarity": graph.support_similarity, graph.support_overlap_kind: graph.support_overlap}
    key = json.dumps(
        [
            hashlib.sha256(path.read_bytes()).hexdigest(),
            thresholds,
            embedding_id(settings),
            "by system, +question",
        ]
    )
    cache = Path(settings.cache_dir) / f"judge-counts-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    try:
        stored = json.loads(cache.read_text(encoding="utf-8"))
        return {kind: np.array(rows, dtype=float).reshape(-1, 4) for kind, rows in stored.items()}
    except (OSError, ValueError, AttributeError):
        pass  # not cached yet, or a damaged file: computed again below
    from nanoscale.models import load_embeddings

    pairs = [replace(pair, evidence=(*pair.evidence, pair.question)) for pair in load_pairs(path)]
    print(
        f"calibrating groundedness: the judge on {len(pairs)} labelled sentences (once)",
        file=sys.stderr,
        flush=True,
    )
    scores = score_pairs(pairs, load_embeddings(settings).embed_documents, progress=False)
    truth = np.array([pair.supported for pair in pairs])
    passed = predict(scores, thresholds)
    counts = {}
    for kind in sorted({system_kind(pair.system) for pair in pairs}):
        mine = np.array([system_kind(pair.system) == kind for pair in pairs])
        counts[kind] = judge_counts(
            [p.case_id for p, m in zip(pairs, mine, strict=True) if m], truth[mine], passed[mine]
        )
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({kind: rows.tolist() for kind, rows in counts.items()}), encoding="utf-8")
    return counts
