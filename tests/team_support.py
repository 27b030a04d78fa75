"""Shared set-up for the team tests: organizations, members and invitations, through HTTP where
a user would act, straight in the database where only the starting point matters."""

from __future__ import annotations

from sqlalchemy import func, select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import (
    AuditEvent,
    Invitation,
    Membership,
    MembershipRole,
    OidcIdentity,
    Organization,
    User,
    WebSession,
)

from .agreement_helpers import sign_user_agreements
from .helpers import make_organization, make_user, sign_in, submit


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


def add_member(
    app,
    org_id: int,
    email: str,
    roles: tuple[str, ...] = ("viewer",),
    *,
    name: str | None = None,
    mfa: bool = True,
    verified: bool = True,
    agreements: bool = False,
    linked: bool = False,
) -> int:
    """A member of `org_id` (with `linked`, their own OneHealthPort account is connected);
    returns the membership id."""
    user_id = make_user(app, email, full_name=name or email.split("@")[0].title(), mfa=mfa, verified=verified)
    with app.app_context():
        membership = Membership(organization_id=org_id, user_id=user_id)
        membership.role_rows.extend(MembershipRole(role=r) for r in roles)
        db.session.add(membership)
        db.session.commit()
        membership_id = membership.id
    if linked:
        link_onehealthport(app, user_id)
    if agreements:
        sign_user_agreements(app, user_id)
    return membership_id


def link_onehealthport(app, user_id: int) -> None:
    """Connect the person's own OneHealthPort account (subject "sub-<id>")."""
    with app.app_context():
        db.session.add(OidcIdentity(user_id=user_id, issuer="https://ohp.test", subject=f"sub-{user_id}"))
        db.session.commit()


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


def connect_organization(app, org_id: int) -> None:
    """The organization is connected to OneHealthPort, so its members can link their own accounts."""
    with app.app_context():
        db.session.get(Organization, org_id).ohp_org_id = f"OHP-{org_id}"
        db.session.commit()
