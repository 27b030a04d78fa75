"""Every OneHealthPort and gate route against every kind of visitor: each lets in exactly the
level it declares."""

from __future__ import annotations

import pytest

from cqmr_wizard.extensions import db
from cqmr_wizard.models import JoinRequest

from .builders import add_member, make_organization, make_user
from .helpers import csrf_from, sign_in

VISITORS = ["anonymous", "password_only", "no_organization", "member", "admin"]
SIGN_IN, SECOND_FACTOR, TASKS = "/sign-in", "/two-step-verification", "/tasks"

# (method, path, level); {join} is a join request to the administrator's organization.
ROUTES = [
    ("GET", "/onehealthport", "user"),
    ("POST", "/onehealthport/start", "user"),
    ("GET", "/onehealthport/disconnect", "user"),
    ("POST", "/onehealthport/disconnect", "user"),
    ("POST", "/onehealthport/disconnect/confirm-with-onehealthport", "user"),
    ("POST", "/sign-in/onehealthport", "anonymous"),
    ("GET", "/sso/callback", "public"),
    ("GET", "/organization/already-registered", "user"),
    ("POST", "/organization/already-registered", "user"),
    ("GET", "/organization/join-request", "user"),
    ("GET", "/organization/join-requests", "org_admin"),
    ("GET", "/organization/join-requests/{join}", "org_admin"),
    ("POST", "/organization/join-requests/{join}", "org_admin"),
    ("GET", "/go-to-cqmr", "member"),
    ("POST", "/go-to-cqmr", "member"),
]


def expected(level: str, visitor: str) -> str | None:
    """Where the visitor is sent instead (a path prefix, or "403"); None when let in."""
    if level == "public":
        return None
    if level == "anonymous":
        return None if visitor == "anonymous" else TASKS
    if visitor == "anonymous":
        return SIGN_IN
    if visitor == "password_only":
        return SECOND_FACTOR
    if level == "user":
        return None
    if visitor == "no_organization":
        return TASKS
    if level == "org_admin" and visitor == "member":
        return "403"
    return None


@pytest.fixture
def world(app):
    """One organization with an administrator and a member, a person without an organization,
    and a join request waiting for the administrator."""
    admin = make_user(app, "admin@alpha.example.org")
    org_id = make_organization(app, admin, ("admin",))
    add_member(app, org_id, email="member@alpha.example.org", roles=("viewer",))
    asker = make_user(app, "asker@example.org")
    make_user(app, "solo@example.org")
    make_user(app, "half@example.org")
    with app.app_context():
        join = JoinRequest(user_id=asker, organization_id=org_id, ohp_org_id="OHP-1")
        db.session.add(join)
        db.session.commit()
        return {"join": join.id}


def visitor_client(app, visitor: str):
    client = app.test_client()
    emails = {
        "no_organization": "solo@example.org",
        "member": "member@alpha.example.org",
        "admin": "admin@alpha.example.org",
    }
    if visitor == "password_only":
        assert sign_in(client, "half@example.org", second_factor=False).status_code == 302
    elif visitor in emails:
        assert sign_in(client, emails[visitor]).status_code == 302
    return client


def csrf_token(client, visitor: str) -> str:
    page = {"anonymous": SIGN_IN, "password_only": SECOND_FACTOR + "/"}.get(visitor, "/help")
    response = client.get(page)
    assert response.status_code == 200, (visitor, page, response.status_code)
    return csrf_from(response.get_data(as_text=True))


@pytest.mark.parametrize("visitor", VISITORS)
def test_each_route_admits_exactly_its_level(app, world, visitor):
    client = visitor_client(app, visitor)
    token = csrf_token(client, visitor) if visitor != "password_only" else None
    for method, path, level in ROUTES:
        url = path.format(**world)
        if method == "GET":
            response = client.get(url)
        else:
            if token is None:
                token = csrf_token(client, visitor)
            response = client.post(url, data={"csrf_token": token})
        sent_to = expected(level, visitor)
        where = (method, url, visitor, response.status_code, response.location)
        if sent_to == "403":
            assert response.status_code == 403, where
        elif sent_to is not None:
            assert response.status_code == 302 and response.location.startswith(sent_to), where
        else:
            assert response.status_code != 500, where
            assert response.status_code != 403 or url.startswith("/go-to-cqmr"), where
            if response.status_code == 302:
                assert not response.location.startswith((SIGN_IN, SECOND_FACTOR)), where
                assert not (response.location == TASKS and level == "member"), where
