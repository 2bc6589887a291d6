"""scripts/check_sealed.py's rule (d) and the relabelling it drives, on a tiny knowledge base."""

from __future__ import annotations

import json

from scripts import check_sealed


def test_relabel_marks_only_the_cases_one_section_holds_and_keeps_the_rest_byte_for_byte(tmp_path, monkeypatch):
    raw, test = tmp_path / "raw", tmp_path / "test"
    raw.mkdir()
    test.mkdir()
    (raw / "k8s.md").write_text("# K8s\n\n## Quota\n\nexceeded quota: run `kubectl describe quota`\n\n## Other\n\nResourceQuota\n")
    rows = [
        {"id": "held", "expected_keywords": ["exceeded quota", "kubectl describe quota"], "in_kb": False},
        {"id": "split", "expected_keywords": ["kubectl describe quota", "ResourceQuota"], "in_kb": False},
        {"id": "ünï", "expected_keywords": ["nothing here"], "in_kb": False, "in_kb_v1": False},
    ]
    (test / "k.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setattr(check_sealed, "RAW", raw)
    monkeypatch.setattr(check_sealed, "TEST_DIR", test)

    assert check_sealed.relabel_in_kb() == 1
    after = [json.loads(line) for line in (test / "k.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["in_kb"] for r in after] == [True, False, False]
    assert after[2] == rows[2]
    assert check_sealed.holding_section(rows[0], check_sealed.kb_sections()) == "k8s.md 'Quota'"
