"""Password hashing (argon2id) and NIST SP 800-63B strength rules."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128


def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=current_app.config["ARGON2_TIME_COST"],
        memory_cost=current_app.config["ARGON2_MEMORY_COST"],
    )


def hash_password(password: str) -> str:
    """Return an argon2id hash of `password`."""
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check `password` against `stored_hash`; a missing hash never matches."""
    if not stored_hash:
        # Spend comparable time so that a missing account is not revealed by timing.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _personal_words(values: list[str]) -> list[str]:
    """Each value, its words and its letters run together ("Ada Lovelace" → ada, lovelace,
    adalovelace), so that a password made of the person's name or address counts as weak."""
    words: set[str] = set()
    for value in values:
        value = (value or "").strip().lower()
        if value:
            words.add(value)
            words.add(re.sub(r"[\W_]+", "", value))
            words.update(w for w in re.split(r"[\W_]+", value) if len(w) > 1)
    return sorted(w for w in words if w)


def password_problem(password: str, user_inputs: list[str]) -> str | None:
    """Return why a new password is refused, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    result = zxcvbn(password, user_inputs=_personal_words(user_inputs))
    if result["score"] < current_app.config["PASSWORD_MIN_SCORE"]:
        feedback = result.get("feedback") or {}
        reason = feedback.get("warning") or "It is too easy to guess"
        suggestion = " ".join(feedback.get("suggestions") or [])
        reason = reason.rstrip(".")
        return f"Choose a password that is harder to guess: {reason}. {suggestion}".strip()
    return None
