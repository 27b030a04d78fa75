"""The task list's facts about people's two-step verification, in bulk (three queries)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from ..extensions import db
from ..models import MfaState, TotpCredential, WebAuthnCredential
from ..models.mfa import ACTIVE, PENDING


def second_factor_facts(user_ids: Collection[int]) -> dict[int, dict[str, bool]]:
    """`mfa_enrolled` (an authenticator app or a passkey; `mfa_app`, `mfa_passkey` say which),
    `mfa_pending` and `recovery_codes_saved` for `Facts`, by user id."""
    facts = {
        user_id: {
            "mfa_enrolled": False,
            "mfa_app": False,
            "mfa_passkey": False,
            "mfa_pending": False,
            "recovery_codes_saved": False,
        }
        for user_id in user_ids
    }
    if not facts:
        return facts
    for user_id, state in db.session.execute(
        select(TotpCredential.user_id, TotpCredential.state).where(TotpCredential.user_id.in_(user_ids))
    ):
        if state == ACTIVE:
            facts[user_id]["mfa_enrolled"] = facts[user_id]["mfa_app"] = True
        elif state == PENDING:
            facts[user_id]["mfa_pending"] = True
    for user_id in db.session.scalars(
        select(WebAuthnCredential.user_id).where(WebAuthnCredential.user_id.in_(user_ids)).distinct()
    ):
        facts[user_id]["mfa_enrolled"] = facts[user_id]["mfa_passkey"] = True
    for user_id in db.session.scalars(
        select(MfaState.user_id).where(
            MfaState.user_id.in_(user_ids), MfaState.recovery_codes_confirmed_at.is_not(None)
        )
    ):
        facts[user_id]["recovery_codes_saved"] = True
    return facts
