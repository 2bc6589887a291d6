"""scripts/context_coverage.py: retrieval judged alone, on dev cases only."""

import pytest

from scripts.context_coverage import main


def test_the_sealed_test_set_is_refused_before_anything_loads():
    with pytest.raises(SystemExit, match="sealed test set"):
        main(["data/eval/dev/unseen.jsonl", "data/eval/test"])


def test_a_bad_cases_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("garbage\n")
    with pytest.raises(SystemExit, match="^error: .*malformed JSON"):
        main([str(bad)])
    with pytest.raises(SystemExit, match="^error: cases file not found"):
        main([str(tmp_path / "missing.jsonl")])
