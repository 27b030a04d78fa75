"""Shared set-up for the team tests: organizations, members and invitations, through HTTP where
a user would act, straight in the database where only the starting point matters."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import (
    AuditEvent,
    Invitation,
    Membership,
    User,
    WebSession,
)

from .builders import (
    connect_organization,
    link_onehealthport,
    make_organization,
    make_user,
    sign_user_agreements,
)
from .helpers import sign_in, submit


def admin_with_org(
    app,
    email: str = "admin@alpha.example.org",
    *,
    name: str = "Alice Admin",
    org_name: str = "Alpha Clinic",
    roles: tuple[str, ...] = ("admin",),
    agreements: bool = False,
) -> tuple[int, int]:
    """A user with both factors set up who administers a new organization: (user id, org id).
    With `agreements`, the organization is connected to OneHealthPort and they have linked
    their own account and signed their own user agreements too, so they are ready."""
    user_id = make_user(app, email, full_name=name)
    org_id = make_organization(app, user_id, roles, legal_name=org_name)
    if agreements:
        connect_organization(app, org_id)
        link_onehealthport(app, user_id)
        sign_user_agreements(app, user_id)
    return user_id, org_id


def signed_in(app, email: str):
    """A test client signed in with both factors as `email`."""
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert client.get("/tasks").status_code == 200
    return client


def invite(client, name: str, email: str, roles: list[str] | tuple[str, ...] = ("viewer",)):
    return submit(client, "/team/invite", {"full_name": name, "email": email, "roles": list(roles)})


def membership_of(app, email: str) -> Membership | None:
    with app.app_context():
        membership = db.session.scalar(
            select(Membership)
            .join(User, User.id == Membership.user_id)
            .where(func.lower(User.email) == email.lower())
        )
        if membership is None:
            return None
        db.session.expunge(membership)
        membership.held = sorted(membership.roles)  # loaded while the session is open
        return membership


def roles_of(app, email: str) -> list[str] | None:
    membership = membership_of(app, email)
    return None if membership is None else membership.held


def invitations(app) -> list[Invitation]:
    with app.app_context():
        rows = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
        db.session.expunge_all()
        return list(rows)


def events(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def session_count(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)
        )


def user_id_of(app, email: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))


def team_readiness(client) -> dict[str, str]:
    """Each member's Status (their readiness, or an invitation's state) as the team page shows it."""
    html = client.get("/team").get_data(as_text=True)
    rows = re.findall(
        r'<tr data-email="([^"]+)">.*?<td [^>]*data-label="Status">\s*<span class="usa-tag [^"]*">([^<]+)</span>',
        html,
        re.S,
    )
    return dict(rows)
