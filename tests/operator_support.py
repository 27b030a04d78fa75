"""Helpers for the operator console, reminder and training tests."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership, MembershipRole, Organization, User
from cqmr_wizard.models.base import utcnow

from .builders import add_member, enroll_mfa, link_onehealthport, make_user, sign_user_agreements
from .helpers import csrf_from, sign_in

OPERATOR_EMAIL = "olive@cqmr.example.org"
FULL_DETAILS = {
    "organization_type": "clinic",
    "tax_id": "12-3456789",
    "address_line1": "1 Main St",
    "city": "Salem",
    "state": "OR",
    "postal_code": "97301",
    "phone": "503-555-0100",
}


def make_operator(app, email: str = OPERATOR_EMAIL, full_name: str = "Olive Operator") -> int:
    """An operator with a password and an authenticator, as `flask operators create` and the
    first sign-in would leave them."""
    user_id = make_user(app, email, full_name=full_name)
    with app.app_context():
        db.session.get(User, user_id).is_operator = True
        db.session.commit()
    return user_id


def operator_client(app, email: str = OPERATOR_EMAIL):
    """A client signed in (both factors) as a new operator."""
    make_operator(app, email)
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 302, response.status_code
    return client


def member_client(app, email: str, org_id: int, roles: tuple[str, ...] = ("admin",)):
    """A client signed in as a new member of `org_id`."""
    user_id = add_member(app, org_id, email=email, roles=roles).user_id
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, user_id


def make_org(
    app, name: str | None, *, members: int = 0, ready: int = 0, inactive_days: int | None = None, **columns
) -> int:
    """An organization with `members` members (the first an administrator), `ready` of them
    with their own tasks done (two-step verification, user agreements); `inactive_days`
    backdates its last change."""
    with app.app_context():
        org = Organization(
            eligibility=columns.pop("eligibility", "covered_entity"), legal_name=name, **columns
        )
        db.session.add(org)
        db.session.flush()
        org_id = org.id
        user_ids = []
        for i in range(members):
            user = User(
                email=f"m{i}-{org_id}@example.org",
                full_name=f"Member {i} of {org_id}",
                email_verified_at=utcnow(),
            )
            db.session.add(user)
            db.session.flush()
            membership = Membership(organization_id=org_id, user_id=user.id)
            membership.role_rows.append(MembershipRole(role="admin" if i == 0 else "viewer"))
            db.session.add(membership)
            user_ids.append(user.id)
        if inactive_days is not None:
            db.session.flush()
            db.session.execute(
                update(Organization)
                .where(Organization.id == org_id)
                .values(
                    updated_at=utcnow() - timedelta(days=inactive_days),
                    created_at=utcnow() - timedelta(days=inactive_days + 1),
                )
            )
        db.session.commit()
    for user_id in user_ids[:ready]:
        enroll_mfa(app, user_id)
        sign_user_agreements(app, user_id)
        link_onehealthport(app, user_id)
    return org_id


def post_with_token(
    client,
    url: str,
    data: dict | None = None,
    token_page: str = "/tasks",  # noqa: S107
    **kw,
):
    """POST with a CSRF token of this session taken from a page the user may see."""
    page = client.get(token_page)
    assert page.status_code == 200, (token_page, page.status_code)
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **(data or {})}, **kw)


@contextmanager
def count_queries(app):
    """Count the SQL statements the app's engine runs inside the block."""
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*args, **kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def row_ids(response) -> list[int]:
    """The organization ids listed on the dashboard, in order."""
    return [int(m) for m in re.findall(r'<tr id="org-(\d+)"', response.get_data(as_text=True))]
