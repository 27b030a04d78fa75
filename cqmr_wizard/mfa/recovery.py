"""Recovery codes: 80 random bits each, written xxxx-xxxx-xxxx-xxxx in Crockford's base32,
stored only as a keyed HMAC-SHA-256 (RECOVERY_CODE_KEY), each usable once. 80 random bits need
no slow hash: an attempt costs one HMAC and one indexed lookup, never a burst of argon2 runs."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from cryptography.fernet import InvalidToken
from flask import current_app, session
from sqlalchemy import delete, func, select, update

from ..audit.events import AuditEventType
from ..auth.passwords import verify_password
from ..extensions import db
from ..models import MfaState, RecoveryCode, User
from ..models.base import utcnow
from ..refusals import Refusal
from .events import notify, record
from .guard import ensure_state
from .totp import decrypt, encrypt

# Crockford's alphabet leaves out i, l, o and u, so nothing is easily misread.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
LENGTH = 16  # 16 × 5 = 80 bits
COUNT = 10
_MISREAD = str.maketrans({"o": "0", "i": "1", "l": "1"})
_SHAPE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def new_code() -> str:
    """Return one recovery code, in its printed form."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return display(raw)


def digest(canonical: str) -> str:
    """The keyed HMAC-SHA-256 under which a code (in canonical form) is stored."""
    key = current_app.config["RECOVERY_CODE_KEY"].encode()
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def display(raw: str) -> str:
    """Group a code in fours for reading."""
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def normalise(value: str | None) -> str | None:
    """The canonical form of a typed code (no spaces or hyphens, lower case), or None if it
    cannot be a recovery code."""
    text = re.sub(r"[\s-]+", "", value or "").lower().translate(_MISREAD)
    return text if _SHAPE.match(text) else None


# Plain-text codes wait in the session, encrypted, only until the user confirms saving them.
SHOWN_FOR_SECONDS = 3600


def issue(user: User) -> list[str]:
    """Replace the user's recovery codes with a new set; return them in plain text, the only
    time they exist outside the user's hands (the caller commits)."""
    ensure_state(user.id)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_code() for _ in range(COUNT)]
    for position, code in enumerate(codes, start=1):
        db.session.add(RecoveryCode(user_id=user.id, position=position, code_digest=digest(normalise(code))))
    state = db.session.get(MfaState, user.id, populate_existing=True)
    state.recovery_codes_confirmed_at = None
    db.session.flush()
    return codes


def remaining(user_id: int) -> int:
    """How many unused recovery codes the user has."""
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def find_unused(user_id: int, typed: str) -> RecoveryCode | None:
    """The user's unused code matching what was typed, if any: one indexed lookup by digest."""
    canonical = normalise(typed)
    if canonical is None:
        return None
    found = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_digest == digest(canonical),
            RecoveryCode.used_at.is_(None),
        )
    )
    return found or _find_legacy(user_id, canonical)


def _find_legacy(user_id: int, canonical: str) -> RecoveryCode | None:
    """Codes issued before keyed digests carry an argon2 hash; they are checked only while the
    user still has some (new sets never do)."""
    rows = db.session.scalars(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_digest.is_(None),
            RecoveryCode.used_at.is_(None),
        )
        .order_by(RecoveryCode.position)
    ).all()
    return next((row for row in rows if verify_password(row.code_hash, canonical)), None)


def claim(code_id: int, now: datetime) -> bool:
    """Use a code; exactly one of two racing requests gets True."""
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def remember_shown(codes: list[str]) -> None:
    """Keep the new codes, encrypted, in the session for the download and print pages, and
    pick the one the user must type back."""
    session["mfa_recovery_codes"] = encrypt("\n".join(codes))
    session["mfa_recovery_check"] = secrets.randbelow(COUNT) + 1


def shown_codes() -> list[str] | None:
    """The codes being shown to the user, or None once saved or expired."""
    token = session.get("mfa_recovery_codes")
    if not token:
        return None
    try:
        return decrypt(token, ttl=SHOWN_FOR_SECONDS).split("\n")
    except InvalidToken:
        forget_shown()
        return None


def check_position() -> int | None:
    return session.get("mfa_recovery_check")


def forget_shown() -> None:
    session.pop("mfa_recovery_codes", None)
    session.pop("mfa_recovery_check", None)


def confirm_saved(user: User, typed: str) -> None:
    """Record that the user saved their codes, proven by typing one of them back."""
    position = check_position()
    row = db.session.scalar(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.position == position)
    )
    canonical = normalise(typed)
    if row is None or canonical is None or not _matches(row, canonical):
        raise CodeNotSaved(
            f"That is not recovery code {position}. Find code {position} in what you saved "
            "and type it exactly"
        )
    state = db.session.get(MfaState, user.id)
    state.recovery_codes_confirmed_at = utcnow()
    record(AuditEventType.MFA_RECOVERY_CODES_SAVED, user)
    db.session.commit()
    forget_shown()


def _matches(row: RecoveryCode, canonical: str) -> bool:
    if row.code_digest is not None:
        return hmac.compare_digest(row.code_digest, digest(canonical))
    return verify_password(row.code_hash, canonical)


def regenerate(user: User) -> list[str]:
    """A new set of codes replacing every old one (after a fresh code)."""
    codes = issue(user)
    record(AuditEventType.MFA_RECOVERY_CODES_REGENERATED, user)
    notify(user, "New recovery codes for your CQMR onboarding account", "mfa_recovery_codes_regenerated")
    db.session.commit()
    remember_shown(codes)
    return codes


class CodeNotSaved(Refusal):
    """The typed code is not the one asked for."""
