"""Password hashing (argon2id) and NIST SP 800-63B strength rules."""

from __future__ import annotations

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


def password_problem(password: str, user_inputs: list[str]) -> str | None:
    """Return why a new password is refused, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    result = zxcvbn(password, user_inputs=[u for u in user_inputs if u])
    if result["score"] < current_app.config["PASSWORD_MIN_SCORE"]:
        feedback = result.get("feedback") or {}
        reason = feedback.get("warning") or "It is too easy to guess"
        suggestion = " ".join(feedback.get("suggestions") or [])
        reason = reason.rstrip(".")
        return f"Choose a password that is harder to guess: {reason}. {suggestion}".strip()
    return None
