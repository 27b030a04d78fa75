"""The task list's facts about a user's two-step verification (one query, whatever the data)."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import MfaState, TotpCredential, User
from ..models.mfa import ACTIVE, PENDING


def second_factor_facts(user_id: int) -> dict[str, bool]:
    """`mfa_enrolled`, `mfa_pending` and `recovery_codes_saved` for `Facts`."""
    rows = db.session.execute(
        select(TotpCredential.state, MfaState.recovery_codes_confirmed_at)
        .select_from(User)
        .outerjoin(TotpCredential, TotpCredential.user_id == User.id)
        .outerjoin(MfaState, MfaState.user_id == User.id)
        .where(User.id == user_id)
    ).all()
    states = {row.state for row in rows}
    return {
        "mfa_enrolled": ACTIVE in states,
        "mfa_pending": PENDING in states,
        "recovery_codes_saved": any(row.recovery_codes_confirmed_at for row in rows),
    }
