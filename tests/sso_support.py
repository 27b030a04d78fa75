"""Shared steps for the OneHealthPort tests: starting a sign-in in the wizard, going through the
real provider over HTTP, and bringing its answer back to the wizard's callback."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Membership, OidcIdentity, Organization

from .builders import make_organization, make_user
from .helpers import fresh_code, page_text, sign_in, submit

CONNECT_PAGE = "/onehealthport"
CONNECT_START = "/onehealthport/start"


def start(client, url: str = CONNECT_START, page: str = CONNECT_PAGE, data: dict | None = None) -> str:
    """Press a "Sign in with OneHealthPort" button; return the provider address it leads to."""
    response = submit(client, url, data or {}, page=page)
    assert response.status_code == 303, (response.status_code, page_text(response)[:500])
    return response.location


def back_to_wizard(client, url: str):
    """Follow the provider's redirect into the Flask test client's callback."""
    parts = urlsplit(url)
    assert parts.netloc == "localhost" and parts.path == "/sso/callback", url
    return client.get(f"{parts.path}?{parts.query}")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def connect(client, idp, account, *, decision: str = "allow"):
    """The whole round trip from the connect page; returns the wizard's answer to the callback."""
    return back_to_wizard(client, idp.authorize(start(client), account, decision=decision))


def signed_in_admin(app, email: str = "admin@alpha.example.org", **org) -> tuple:
    """A fully signed-in administrator of a fresh organization: (client, user id, org id)."""
    user_id = make_user(app, email)
    org_id = make_organization(app, user_id, ("admin",), **org)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, user_id, org_id


def signed_in_user(app, email: str) -> tuple:
    """A fully signed-in user with no organization: (client, user id)."""
    user_id = make_user(app, email)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, user_id


def pass_second_factor(client, email: str):
    """Give the TOTP code the challenge asks for after a single sign-on."""
    app = client.application
    from .helpers import stored_secret

    return submit(
        client, "/two-step-verification/", {"code": fresh_code(app, email, stored_secret(app, email))}
    )


def identities(app) -> list[tuple[int, str, str]]:
    with app.app_context():
        return [
            (i.user_id, i.issuer, i.subject)
            for i in db.session.scalars(select(OidcIdentity).order_by(OidcIdentity.id))
        ]


def organization(app, org_id: int) -> Organization:
    with app.app_context():
        org = db.session.get(Organization, org_id)
        db.session.expunge(org)
        return org


def membership_org(app, user_id: int) -> int | None:
    with app.app_context():
        return db.session.scalar(select(Membership.organization_id).where(Membership.user_id == user_id))


def audit_events(app, event_type: str) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        )
        return [
            {
                "actor_id": r.actor_id,
                "organization_id": r.organization_id,
                "subject_user_id": r.subject_user_id,
                **json.loads(r.details),
            }
            for r in rows
        ]
