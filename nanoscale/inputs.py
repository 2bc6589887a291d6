"""Validation of text that users hand to the system: clear errors instead of crashes."""

from __future__ import annotations

from nanoscale.errors import InputError

_CONTROL = {chr(c) for c in range(32)} - {"\n", "\r", "\t"}


def clean_text(value: object, what: str, max_chars: int, allow_empty: bool = False) -> str:
    """Decode and check text: not binary, not empty (unless allowed), not over the limit."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} is not UTF-8 text (binary data at byte {exc.start})") from exc
    if not isinstance(value, str):
        raise InputError(f"{what} must be text, got {type(value).__name__}")
    if "\x00" in value or sum(ch in _CONTROL for ch in value[:4096]) > 8:
        raise InputError(f"{what} looks like binary data, not text")
    text = value.strip()
    if not text and not allow_empty:
        raise InputError(f"{what} is empty")
    if len(text) > max_chars:
        raise InputError(f"{what} is {len(text):,} characters; the limit is {max_chars:,}")
    return text
