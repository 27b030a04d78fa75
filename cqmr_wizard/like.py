"""Searching text with SQL LIKE: what a person typed, found anywhere, taken literally."""

from __future__ import annotations


def contains_pattern(text: str) -> str:
    """A LIKE pattern (escape character: backslash) that finds `text`, lower-cased, anywhere,
    its `%` and `_` matched as themselves."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
