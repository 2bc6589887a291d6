"""Fixtures shared by the unit tests of the scripts that read eval runs."""

import json

import pytest


@pytest.fixture
def one_case_file(tmp_path):
    """A cases file holding one case, `c1`."""
    path = tmp_path / "cases.jsonl"
    case = {"id": "c1", "category": "aws", "question": "q", "expected_keywords": ["ecr"], "must_ask": []}
    path.write_text(json.dumps(case) + "\n")
    return path
