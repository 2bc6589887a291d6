"""How well each groundedness judge agrees with hand labels (data/judge/pairs.jsonl).

The judges: MiniLM similarity, word overlap (plain and negation-aware), their OR (what verify
runs), and a local model asked yes or no. Thresholds are picked on half A by macro F1 (the mean
of the F1 of the "supported" and of the "unsupported" class: supported-class F1 alone rewards a
judge that passes everything, since most sentences are supported) and every figure is reported
on half B, with 95% intervals that resample whole cases (`intervals.bootstrap_counts`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nanoscale.evals.intervals import bootstrap_counts, format_interval
from nanoscale.evals.judge_pairs import Pair
from nanoscale.grounding import (
    EmbedFn,
    negation_overlaps,
    passages,
    plain_overlaps,
    similarities,
    strip_citations,
)

GRID = {
    "similarity": tuple(round(0.30 + 0.025 * i, 3) for i in range(25)),  # 0.30 .. 0.90
    "overlap": tuple(round(0.30 + 0.05 * i, 2) for i in range(15)),  # 0.30 .. 1.00
}
CLASSES = {"supported": True, "unsupported": False}


@dataclass(frozen=True)
class Judge:
    """A threshold judge: supported when any of its scores reaches its threshold."""

    name: str
    scores: tuple[str, ...]  # keys of the score table: similarity, plain, negation

    def thresholds_for(self, similarity: float, overlap: float) -> dict[str, float]:
        return {key: similarity if key == "similarity" else overlap for key in self.scores}


JUDGES = (
    Judge("similarity", ("similarity",)),
    Judge("overlap (plain)", ("plain",)),
    Judge("overlap (negation-aware)", ("negation",)),
    Judge("similarity or overlap (plain)", ("similarity", "plain")),
    Judge("similarity or overlap (negation-aware)", ("similarity", "negation")),
)


def embedded_once(embed: EmbedFn, texts: Sequence[str], progress: bool = True) -> EmbedFn:
    """`embed` with each distinct text of `texts` embedded up front, once: the labelled cases share
    most of their evidence windows (1,260 distinct of 2,555 in the project's pairs)."""
    unique = list(dict.fromkeys(texts))
    known: dict[str, list[float]] = {}
    for start in tqdm(range(0, len(unique), 256), desc="embedding", unit="batch", disable=not progress):
        batch = unique[start : start + 256]
        known.update(zip(batch, embed(batch), strict=True))

    def lookup(batch: list[str]) -> list[list[float]]:
        missing = [text for text in dict.fromkeys(batch) if text not in known]
        if missing:
            known.update(zip(missing, embed(missing), strict=True))
        return [known[text] for text in batch]

    return lookup


def score_pairs(pairs: Sequence[Pair], embed: EmbedFn, progress: bool = True) -> dict[str, np.ndarray]:
    """Every pair's similarity and overlaps; each distinct sentence and evidence window is embedded once."""
    scores = {key: np.zeros(len(pairs)) for key in ("similarity", "plain", "negation")}
    by_evidence: dict[tuple[str, ...], list[int]] = {}
    for index, pair in enumerate(pairs):
        by_evidence.setdefault(pair.evidence, []).append(index)
    windows = [window for evidence in by_evidence for window in passages(evidence)]
    embed = embedded_once(embed, [strip_citations(pair.sentence) for pair in pairs] + windows, progress)
    for evidence, indexes in tqdm(by_evidence.items(), desc="scoring", unit="case", disable=not progress):
        sentences = [pairs[i].sentence for i in indexes]
        scores["similarity"][indexes] = similarities(sentences, evidence, embed)
        scores["plain"][indexes] = plain_overlaps(sentences, evidence)
        scores["negation"][indexes] = negation_overlaps(sentences, evidence)
    return scores


def predict(scores: dict[str, np.ndarray], thresholds: dict[str, float]) -> np.ndarray:
    """Supported where any score reaches its threshold."""
    return np.logical_or.reduce([scores[key] >= value for key, value in thresholds.items()])


def counts_by_case(
    case_ids: Sequence[str], truth: np.ndarray, predicted: np.ndarray, positive: bool
) -> np.ndarray:
    """(cases, 3): true positives, false positives, false negatives of one class, per case."""
    cases = sorted(set(case_ids))
    row = {case: i for i, case in enumerate(cases)}
    counts = np.zeros((len(cases), 3))
    for case, label, guess in zip(case_ids, truth == positive, predicted == positive, strict=True):
        counts[row[case]] += (label and guess, guess and not label, label and not guess)
    return counts


def precision(sums: np.ndarray) -> np.ndarray:
    return sums[:, 0] / (sums[:, 0] + sums[:, 1])


def recall(sums: np.ndarray) -> np.ndarray:
    return sums[:, 0] / (sums[:, 0] + sums[:, 2])


def f1(sums: np.ndarray) -> np.ndarray:
    return 2 * sums[:, 0] / (2 * sums[:, 0] + sums[:, 1] + sums[:, 2])


def class_metrics(case_ids: Sequence[str], truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Precision, recall and F1 with intervals for each class, and the macro F1."""
    report: dict = {}
    for name, positive in CLASSES.items():
        counts = counts_by_case(case_ids, truth, predicted, positive)
        report[name] = {
            metric.__name__: bootstrap_counts(counts, metric) for metric in (precision, recall, f1)
        }
    f1s = [report[name]["f1"]["mean"] if report[name]["f1"] else 0.0 for name in CLASSES]
    report["macro_f1"] = float(np.mean(f1s))
    return report


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 of the two classes, no interval: the objective thresholds are picked by."""
    values = []
    for positive in CLASSES.values():
        tp = np.sum((truth == positive) & (predicted == positive))
        wrong = np.sum(truth != predicted)
        values.append(2 * tp / (2 * tp + wrong) if tp + wrong else 0.0)
    return float(np.mean(values))


def pick_thresholds(
    judge: Judge, scores: dict[str, np.ndarray], truth: np.ndarray, tune: np.ndarray
) -> dict[str, float]:
    """The grid point with the best macro F1 on the `tune` rows only (half A); ties go to the
    lowest thresholds, the first in grid order."""
    overlap_grid = GRID["overlap"] if any(key != "similarity" for key in judge.scores) else (1.0,)
    similarity_grid = GRID["similarity"] if "similarity" in judge.scores else (1.0,)
    best, best_score = None, -1.0
    for similarity, overlap in itertools.product(similarity_grid, overlap_grid):
        thresholds = judge.thresholds_for(similarity, overlap)
        score = macro_f1(truth[tune], predict(scores, thresholds)[tune])
        if score > best_score:
            best, best_score = thresholds, score
    assert best is not None
    return best


def evaluate(
    pairs: Sequence[Pair],
    scores: dict[str, np.ndarray],
    configured: dict[str, float],
    llm: Sequence[bool | None] | None = None,
    llm_name: str = "",
) -> dict:
    """Every judge on half B: at the configured thresholds, and at those picked on half A."""
    truth = np.array([pair.supported for pair in pairs])
    tune = np.array([pair.half == "A" for pair in pairs])
    test = ~tune
    cases = [pair.case_id for i, pair in enumerate(pairs) if test[i]]
    rows = []
    for judge in JUDGES:
        fixed = judge.thresholds_for(configured["similarity"], configured["overlap"])
        picked = pick_thresholds(judge, scores, truth, tune)
        for source, thresholds in (("configured", fixed), ("picked on half A", picked)):
            predicted = predict(scores, thresholds)
            rows.append(
                {
                    "judge": judge.name,
                    "thresholds": thresholds,
                    "source": source,
                    "half_a_macro_f1": macro_f1(truth[tune], predicted[tune]),
                    **class_metrics(cases, truth[test], predicted[test]),
                }
            )
    if llm is not None:
        said = np.array([value is True for value in llm])
        rows.append(
            {
                "judge": f"LLM yes/no ({llm_name})",
                "thresholds": {},
                "source": "fixed prompt",
                "unparsed": sum(value is None for value in llm),
                **class_metrics(cases, truth[test], said[test]),
            }
        )
    per_pair = [
        {
            "id": pair.id,
            "half": pair.half,
            "supported": pair.supported,
            **{key: round(float(values[i]), 4) for key, values in scores.items()},
            **({"llm": llm[i]} if llm is not None else {}),
        }
        for i, pair in enumerate(pairs)
    ]
    return {"pairs": describe(pairs), "configured": configured, "judges": rows, "per_pair": per_pair}


def describe(pairs: Sequence[Pair]) -> dict:
    """How many pairs, cases and labels each half holds, by system."""
    out: dict = {}
    for half in ("A", "B", "all"):
        subset = [p for p in pairs if half in ("all", p.half)]
        out[half] = {
            "pairs": len(subset),
            "cases": len({p.case_id for p in subset}),
            "supported": sum(p.supported for p in subset),
            "unsupported": sum(not p.supported for p in subset),
            "by_system": {s: sum(p.system == s for p in subset) for s in sorted({p.system for p in pairs})},
        }
    return out


def markdown(result: dict) -> str:
    """The half-B table: each judge's precision, recall and F1 for both classes, with intervals."""
    b = result["pairs"]["B"]
    lines = [
        f"Half B: {b['pairs']} pairs from {b['cases']} cases ({b['supported']} supported, "
        f"{b['unsupported']} not); thresholds picked on half A ({result['pairs']['A']['pairs']} pairs).",
        "",
        "| judge | thresholds | supported: P | R | F1 | unsupported: P | R | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["judges"]:
        shown = ", ".join(f"{key} {value:g}" for key, value in row["thresholds"].items()) or "-"
        cells = [format_interval(row[c][m]) for c in CLASSES for m in ("precision", "recall", "f1")]
        lines.append(f"| {row['judge']} | {shown} ({row['source']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_result(out: Path, result: dict) -> list[Path]:
    """judge-eval.json (every figure) and judge-eval.md (the table) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    data, table = out / "judge-eval.json", out / "judge-eval.md"
    data.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    table.write_text(f"# Groundedness judges against hand labels\n\n{markdown(result)}\n", encoding="utf-8")
    return [data, table]
