"""Bootstrap intervals: they contain the mean, shrink with more data, and pair cases."""

from __future__ import annotations

from nanoscale.evals.intervals import bootstrap, format_interval, paired_difference


def test_interval_contains_the_mean_and_narrows_with_more_cases() -> None:
    small = bootstrap([1, 0, 1, 1, 0, 1, 0, 1])
    large = bootstrap([1, 0, 1, 1, 0, 1, 0, 1] * 25)
    assert small["low"] <= small["mean"] <= small["high"]
    assert (large["high"] - large["low"]) < (small["high"] - small["low"]) / 2
    assert large["n"] == 200


def test_missing_values_are_left_out_and_nothing_gives_none() -> None:
    assert bootstrap([None, 1.0, None])["n"] == 1
    assert bootstrap([None, None]) is None
    assert format_interval(None) == "-"


def test_paired_difference_sees_a_consistent_gain_that_separate_intervals_hide() -> None:
    first = [0.2, 0.9, 0.4, 0.7, 0.1, 0.8, 0.3, 0.6] * 3
    second = [value + 0.05 for value in first]
    diff = paired_difference(first, second)
    assert diff["low"] > 0.0  # every case improved a little: the paired interval excludes zero
    a, b = bootstrap(first), bootstrap(second)
    assert b["low"] < a["high"]  # while the two separate intervals overlap


def test_format_rounds() -> None:
    assert format_interval({"mean": 0.41780821, "low": 0.3, "high": 0.5}) == "0.42 [0.30, 0.50]"
