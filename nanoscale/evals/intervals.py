"""95% bootstrap intervals for eval metrics, and paired differences between two systems.

Why: with 30-150 cases a single mean hides how much it would move on another sample of the same
kind; a paired difference (the same cases under two systems) is far tighter than comparing two
separate intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

RESAMPLES = 2000
SEED = 0


def _clean(values: Sequence[float | bool | None]) -> np.ndarray:
    return np.array([float(v) for v in values if v is not None], dtype=float)


def bootstrap(values: Sequence[float | bool | None], resamples: int = RESAMPLES, seed: int = SEED) -> dict | None:
    """Mean and percentile 95% interval of the present values; None when there are none."""
    data = _clean(values)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": float(data.mean()), "low": float(low), "high": float(high), "n": int(data.size)}


def paired_difference(
    first: Sequence[float | bool | None],
    second: Sequence[float | bool | None],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict | None:
    """second - first over the cases where both have a value (same order = same case)."""
    pairs = [(float(a), float(b)) for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    if not pairs:
        return None
    return bootstrap([b - a for a, b in pairs], resamples, seed)


def bootstrap_counts(
    counts: Sequence[Sequence[float]],
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict | None:
    """A ratio of summed counts (precision, recall, F1 from true/false positives) and its percentile
    95% interval, resampling whole units (rows): items of one unit, such as the sentences of one
    answer, are not independent, so the unit is what varies between samples. `statistic` maps an
    (n, columns) array of summed counts to n values; a resample where it is undefined (NaN) is
    skipped. `mean` holds the statistic on all the data; None when it is undefined there."""
    data = np.asarray(counts, dtype=float)
    if data.size == 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(statistic(data.sum(axis=0, keepdims=True))[0])
        rng = np.random.default_rng(seed)
        sums = data[rng.integers(0, len(data), size=(resamples, len(data)))].sum(axis=1)
        values = statistic(sums)
    values = values[~np.isnan(values)]
    if np.isnan(value) or values.size == 0:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return {"mean": value, "low": float(low), "high": float(high), "n": int(len(data))}


def format_interval(stats: dict | None, digits: int = 2) -> str:
    """`0.74 [0.66, 0.81]`, or `-` when there is nothing to show."""
    if stats is None:
        return "-"
    return f"{stats['mean']:.{digits}f} [{stats['low']:.{digits}f}, {stats['high']:.{digits}f}]"
