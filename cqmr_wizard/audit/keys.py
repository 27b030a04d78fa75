"""The audit chain's HMAC keys: AUDIT_HMAC_KEYS, comma-separated, newest first.

New rows are linked under the first key; older keys stay listed so that rows linked under
them still verify. A row records its key by id: the first 16 hex digits of a SHA-256 of the
key, so the id reveals nothing and no separate naming is needed."""

from __future__ import annotations

import hashlib

from flask import current_app

MIN_KEY_LENGTH = 32
UNKEYED = "unkeyed"  # rows written before keyed links existed (plain SHA-256)


class AuditKeyError(RuntimeError):
    """AUDIT_HMAC_KEYS is missing or holds a key too short to be a secret."""


def key_id(key: bytes) -> str:
    """The id a row records for the key that links it."""
    return hashlib.sha256(b"cqmr-audit-key-id:" + key).hexdigest()[:16]


def parse_keys(value: str) -> list[tuple[str, bytes]]:
    """(id, key) for each comma-separated key, in the order given."""
    keys = [part.strip().encode() for part in value.split(",") if part.strip()]
    if not keys:
        raise AuditKeyError("AUDIT_HMAC_KEYS is empty: give at least one key (64 hex digits, say).")
    for key in keys:
        if len(key) < MIN_KEY_LENGTH:
            raise AuditKeyError(
                f"Each key in AUDIT_HMAC_KEYS must be at least {MIN_KEY_LENGTH} characters long."
            )
    return [(key_id(key), key) for key in keys]


def audit_keys() -> list[tuple[str, bytes]]:
    """The configured keys of the current app, newest first (parsed once per value)."""
    raw = current_app.config.get("AUDIT_HMAC_KEYS") or ""
    cache = current_app.extensions.setdefault("cqmr_audit_keys", {})
    if raw not in cache:
        cache[raw] = parse_keys(raw)
    return cache[raw]


def newest_key() -> tuple[str, bytes]:
    """The key new rows are linked under."""
    return audit_keys()[0]


def keys_by_id() -> dict[str, bytes]:
    """Every configured key by its id."""
    return dict(audit_keys())
