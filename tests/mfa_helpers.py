"""Helpers for the two-step verification tests."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, MfaState

from .helpers import CLOCK, fresh_code, page_text, sign_in, submit, totp_now

CHALLENGE = "/two-step-verification/"
ENROLL = "/two-step-verification/set-up"
RECOVERY_CHALLENGE = "/two-step-verification/recovery-code"
RECOVERY_CODES = "/two-step-verification/recovery-codes"
CODE_PATTERN = re.compile(r"\b[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}\b")


def steady_clock(margin: float = 4.0) -> None:
    """Move the clock past a time-step boundary that is less than `margin` seconds away, so
    that a code made now is still judged against the same step."""
    if 30 - CLOCK.timestamp() % 30 < margin:
        CLOCK.to_next_step()


def password_only(client, email: str = "pat@example.org"):
    """Sign in with the password only: the session is at the second-factor step."""
    response = sign_in(client, email, second_factor=False)
    assert response.status_code == 302, page_text(response)
    return response


def post_code(client, code: str, url: str = CHALLENGE, field: str = "code"):
    """Give a code in the form on a page."""
    return submit(client, url, {field: code})


def key_on_page(response) -> str:
    """The set-up key as shown for typing by hand, without its spaces."""
    match = re.search(r'id="totp-key">([A-Z2-7 ]+)</code>', response.get_data(as_text=True))
    assert match, "no set-up key on the page"
    return match.group(1).replace(" ", "")


def codes_on_page(response) -> list[str]:
    return CODE_PATTERN.findall(page_text(response))


def enroll_through_pages(client, app, email: str = "pat@example.org"):
    """Set up two-step verification as a person does; return (secret, recovery codes, response
    after confirming the codes were saved)."""
    page = client.get(ENROLL)
    secret = key_on_page(page)
    confirmed = submit(client, ENROLL, {"code": fresh_code(app, email, secret)})
    assert confirmed.status_code == 302 and confirmed.location == RECOVERY_CODES, page_text(confirmed)
    shown = client.get(RECOVERY_CODES)
    codes = codes_on_page(shown)
    position = int(re.search(r"Type recovery code (\d+)", page_text(shown)).group(1))
    saved = submit(client, RECOVERY_CODES, {"recovery_code": codes[position - 1]})
    return secret, codes, saved


def events(app, event_type: str) -> list[dict]:
    """Audit events of one type, oldest first, with their details decoded."""
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()
        return [
            {
                "actor_id": r.actor_id,
                "subject_user_id": r.subject_user_id,
                "organization_id": r.organization_id,
                **json.loads(r.details),
            }
            for r in rows
        ]


def mfa_state(app, user_id: int) -> MfaState:
    with app.app_context():
        state = db.session.get(MfaState, user_id)
        db.session.expunge(state)
        return state


def totp_at_offset(secret: str, steps: int) -> str:
    """The code for `steps` time steps from now (negative: in the past)."""
    return totp_now(secret, at=CLOCK.timestamp() + 30 * steps)


def wrong_code(secret: str) -> str:
    """A well-formed code that is not right for any step near now."""
    right = {totp_at_offset(secret, steps) for steps in (-2, -1, 0, 1, 2)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in right)
