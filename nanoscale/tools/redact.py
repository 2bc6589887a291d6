"""Secret redaction, applied before any text reaches a prompt, a trace, a log or the UI.

Patterns target the shapes secrets really have (AWS key IDs, ``Authorization`` headers,
``password=`` pairs, PEM private keys, well-known token prefixes). Identifiers that are not
secret (ARNs, account IDs, commit SHAs, image digests) are left alone so answers stay useful.
"""

from __future__ import annotations

import re
from typing import Any

_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.DOTALL
        ),
        "[REDACTED:private-key]",
    ),
    (re.compile(r"(?i)\b((?:proxy-)?authorization\s*:\s*)[^\r\n\"']+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)\b((?:set-)?cookie\s*:\s*)[^\r\n\"']+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)\b(x-(?:api-key|auth-token|access-token|vault-token)\s*:\s*)[^\r\n\"']+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{8,}=*"), r"\1[REDACTED]"),
    (re.compile(r"(?i)\b(basic\s+)[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/])"), r"\1[REDACTED]"),
    (re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"), "[REDACTED:aws-access-key-id]"),
    (
        re.compile(
            r"(?i)((?:aws_)?secret_?access_?key|aws_secret|aws_session_token|session_?token)"
            r"([\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{16,}"
        ),
        r"\1\2[REDACTED]",
    ),
    (
        # a bare 40-character AWS secret access key: mixed case and digits or '/' '+', never pure hex
        re.compile(
            r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[A-Z])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[0-9/+])"
            r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        "[REDACTED:aws-secret-key]",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED:jwt]"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), "[REDACTED:github-token]"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}\b"), "[REDACTED:github-token]"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b"), "[REDACTED:gitlab-token]"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), "[REDACTED:slack-token]"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "[REDACTED:google-api-key]"),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"), "[REDACTED:stripe-key]"),
    (re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}\b"), "[REDACTED:api-key]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*):([^\s@/]+)@"), r"\1:[REDACTED]@"),
    (
        re.compile(
            r"(?i)(?<![\w-])((?:db_|mysql_|postgres_|redis_)?(?:password|passwd|pwd|secret|client_secret|"
            r"api[_-]?key|api[_-]?token|access[_-]?token|refresh[_-]?token|auth[_-]?token|private[_-]?token|token)"
            r"[\"']?\s*[:=]\s*[\"']?)(?!\[REDACTED)([^\s\"',;&}]{3,})"
        ),
        r"\1[REDACTED]",
    ),
    (re.compile(r"(?i)(\s--password[ =])(?!\[REDACTED)(\S{3,})"), r"\1[REDACTED]"),
    (re.compile(r"(?i)(\bmysql\w*\b[^\n]*?\s-p ?)(?!\[REDACTED)(\S{3,})"), r"\1[REDACTED]"),
]


def redact(text: str) -> str:
    """Text with every secret replaced by a [REDACTED...] marker."""
    if not text:
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_data(value: Any) -> Any:
    """Redact every string inside nested dicts, lists and tuples (for traces and JSON output)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_data(item) for item in value)
    return value
