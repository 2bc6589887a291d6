from types import SimpleNamespace

import numpy as np

from nanoscale.evals.calibrated import calibrated_groundedness, corrected, judge_counts, system_kind


def _counts(sensitivity: float, specificity: float, cases: int = 40, per_case: int = 10) -> np.ndarray:
    """Labelled cases each holding `per_case` supported and `per_case` unsupported sentences."""
    passed, rejected = round(sensitivity * per_case), round(specificity * per_case)
    return np.tile([passed, per_case, rejected, per_case], (cases, 1)).astype(float)


def test_judge_counts_per_case():
    counts = judge_counts(
        ["a", "a", "b", "b", "b"],
        np.array([True, False, True, False, False]),
        np.array([True, True, False, False, True]),
    )
    assert counts.tolist() == [[1, 1, 0, 1], [0, 1, 1, 2]]


def test_a_perfect_judge_changes_nothing_and_a_lenient_one_is_corrected_down():
    assert corrected(np.array(0.8), np.array([10, 10, 10, 10])) == 0.8
    # passes 90% of supported and 50% of unsupported sentences: 0.8 observed is 0.75 true
    assert np.isclose(corrected(np.array(0.8), np.array([9, 10, 5, 10])), 0.75)
    assert corrected(np.array(0.99), np.array([9, 10, 5, 10])) == 1.0  # clipped to a share
    assert np.isnan(corrected(np.array(0.8), np.array([5, 10, 5, 10])))  # a coin says nothing
    assert np.isnan(corrected(np.array(0.8), np.array([9, 10, 2, 10])))  # nor does a judge near one
    assert system_kind("rag@qwen2.5-coder-1.5b") == "rag" and system_kind("base") == "base"


def test_interval_carries_the_judges_uncertainty():
    shares = [1.0, 0.8, 0.6, 1.0, 0.9] * 20
    many = calibrated_groundedness(shares, _counts(0.9, 0.5, cases=200))
    few = calibrated_groundedness(shares, _counts(0.9, 0.5, cases=10))
    assert many["low"] <= many["mean"] <= many["high"]
    assert np.isclose(many["mean"], (0.86 + 0.5 - 1) / 0.4)
    assert few["high"] - few["low"] >= many["high"] - many["low"]
    assert calibrated_groundedness(shares, None) is None
    assert calibrated_groundedness([None, None], _counts(0.9, 0.5)) is None
    assert calibrated_groundedness(shares, _counts(0.5, 0.5)) is None


def test_a_damaged_cache_is_computed_again(tmp_path, monkeypatch):
    from nanoscale.config import Settings
    from nanoscale.evals import calibrated

    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr(calibrated, "score_pairs", lambda pairs, embed, progress: _scores(pairs))
    monkeypatch.setattr(
        "nanoscale.models.load_embeddings", lambda settings: SimpleNamespace(embed_documents=None)
    )
    first = calibrated.label_counts(settings)
    (cached,) = (tmp_path / "cache").glob("judge-counts-*.json")
    cached.write_text("{not json")
    again = calibrated.label_counts(settings)
    assert set(again) == set(first) and all((again[k] == first[k]).all() for k in first)


def _scores(pairs):
    """Every sentence scored as fully similar: the judge passes everything."""
    return {key: np.ones(len(pairs)) for key in ("similarity", "plain", "negation")}
