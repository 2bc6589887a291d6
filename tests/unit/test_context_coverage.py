"""scripts/context_coverage.py: retrieval judged alone, on dev cases only."""

import pytest

from scripts.context_coverage import main


def test_the_sealed_test_set_is_refused_before_anything_loads():
    with pytest.raises(SystemExit, match="sealed test set"):
        main(["data/eval/dev/unseen.jsonl", "data/eval/test"])
