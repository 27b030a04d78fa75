"""Signing in with OneHealthPort instead of a password (the second factor still follows), and
disconnecting it, which needs a fresh password or a fresh OneHealthPort login."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import User
from cqmr_wizard.models.base import utcnow

from .builders import make_user
from .helpers import PASSWORD, forge, page_text, submit
from .sso_support import (
    audit_events,
    back_to_wizard,
    connect,
    identities,
    pass_second_factor,
    query,
    signed_in_admin,
    start,
)

SIGN_IN_START = "/sign-in/onehealthport"


@pytest.fixture
def app(app_factory, idp):
    return app_factory(**idp.app_config())


def linked_admin(app, idp, email: str = "admin@alpha.example.org"):
    """An administrator whose account is linked to a provider account: (client, user id, account)."""
    account = idp.add_account(organization=idp.add_organization())
    client, user_id, _ = signed_in_admin(app, email)
    assert connect(client, idp, account).status_code == 302
    return client, user_id, account


def sso_sign_in(app, idp, account, *, next_path: str | None = None, http=None):
    visitor = app.test_client()
    # A sign-in page asked for with a return address carries it in a hidden field; the test
    # sets that field's value, as a tampered page could.
    page, data = ("/sign-in?next=/tasks", {"next": next_path}) if next_path else ("/sign-in", {})
    answer = idp.authorize(start(visitor, SIGN_IN_START, page=page, data=data), account, http=http)
    return visitor, back_to_wizard(visitor, answer)


def test_sign_in_with_onehealthport_then_the_second_factor(app, idp):
    _, user_id, account = linked_admin(app, idp)
    page = app.test_client().get("/sign-in")
    assert "Or sign in with OneHealthPort" in page_text(page)

    visitor, response = sso_sign_in(app, idp, account)
    assert response.status_code == 302 and response.location == "/tasks"
    # The password is replaced, the second factor is not.
    challenge = visitor.get("/tasks")
    assert challenge.status_code == 302 and challenge.location.startswith("/two-step-verification")
    done = pass_second_factor(visitor, "admin@alpha.example.org")
    assert done.status_code == 302
    assert visitor.get("/tasks").status_code == 200
    signed = audit_events(app, "auth.signed_in")
    assert signed[-1]["method"] == "oidc" and signed[-1]["subject_user_id"] == user_id


def test_next_is_kept_only_for_paths_on_this_site(app, idp):
    _, _, account = linked_admin(app, idp)
    _, response = sso_sign_in(app, idp, account, next_path="/onehealthport")
    assert response.location == "/onehealthport"
    _, response = sso_sign_in(app, idp, account, next_path="https://evil.example/")
    assert response.location == "/tasks"
    _, response = sso_sign_in(app, idp, account, next_path="//evil.example/x")
    assert response.location == "/tasks"


def test_an_identity_is_never_matched_by_email(app, idp):
    make_user(app, "pat@example.org")
    same_email = idp.add_account(organization=idp.add_organization(), email="pat@example.org")
    visitor, response = sso_sign_in(app, idp, same_email)
    assert response.status_code == 401
    assert "not connected to a CQMR onboarding account yet" in page_text(response)
    with visitor.session_transaction() as session:
        assert "_user_id" not in session
    assert identities(app) == []
    assert audit_events(app, "sso.refused")[-1]["reason"] == "not_linked"


def test_a_deactivated_account_cannot_sign_in(app, idp):
    _, user_id, account = linked_admin(app, idp)
    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id).values(deactivated_at=utcnow()))
        db.session.commit()
    visitor, response = sso_sign_in(app, idp, account)
    assert response.status_code == 403
    with visitor.session_transaction() as session:
        assert "_user_id" not in session


def test_sign_in_start_is_for_signed_out_visitors_with_a_form(app, idp):
    client, _, _ = linked_admin(app, idp)
    response = forge(client, SIGN_IN_START, {}, page="/onehealthport")
    assert response.status_code == 302 and response.location == "/tasks"
    assert app.test_client().post(SIGN_IN_START).status_code == 400  # no CSRF token


def test_disconnect_with_the_password(app, idp, mailbox):
    client, user_id, account = linked_admin(app, idp)
    wrong = submit(client, "/onehealthport/disconnect", {"password": "not my password at all"})
    assert wrong.status_code == 400
    assert "Your password is not right" in page_text(wrong)
    assert len(identities(app)) == 1
    right = submit(client, "/onehealthport/disconnect", {"password": PASSWORD})
    assert right.status_code == 302
    assert identities(app) == []
    unlinked = audit_events(app, "sso.identity_unlinked")
    assert unlinked[-1]["reauthenticated_with"] == "password"
    assert "disconnected" in mailbox.last_to("admin@alpha.example.org")["Subject"]
    _, response = sso_sign_in(app, idp, account)
    assert response.status_code == 401


def test_disconnect_with_a_fresh_onehealthport_login(app, idp):
    account = idp.add_account(organization=idp.add_organization())
    client, user_id, _ = signed_in_admin(app)
    browser = requests.Session()  # keeps the provider's own session between the two visits
    answer = idp.authorize(start(client), account, http=browser)
    assert back_to_wizard(client, answer).status_code == 302

    location = start(
        client, "/onehealthport/disconnect/confirm-with-onehealthport", page="/onehealthport/disconnect"
    )
    assert query(location)["prompt"] == "login" and query(location)["max_age"] == "0"
    # The provider asks for the password again although its session is still alive.
    first_page = browser.get(location, allow_redirects=True)
    assert 'name="password"' in first_page.text
    response = back_to_wizard(client, idp.authorize(location, account, http=browser))
    assert response.status_code == 302 and response.location == "/onehealthport"
    assert identities(app) == []
    assert audit_events(app, "sso.identity_unlinked")[-1]["reauthenticated_with"] == "onehealthport"


def test_disconnect_refuses_a_different_onehealthport_account(app, idp):
    client, user_id, account = linked_admin(app, idp)
    someone_else = idp.add_account(organization=idp.add_organization())
    location = start(
        client, "/onehealthport/disconnect/confirm-with-onehealthport", page="/onehealthport/disconnect"
    )
    response = back_to_wizard(client, idp.authorize(location, someone_else))
    assert response.status_code == 403
    assert len(identities(app)) == 1
    assert audit_events(app, "sso.refused")[-1]["reason"] == "reauth_other_identity"


def test_disconnect_page_without_a_linked_account(app):
    client, _, _ = signed_in_admin(app)
    response = client.get("/onehealthport/disconnect")
    assert response.status_code == 302 and response.location == "/onehealthport"


def test_disconnect_with_the_password_is_throttled_like_sign_in(app_factory, idp):
    """Too many wrong passwords from one place: the disconnect page answers 429 with when to try
    again (it answered 500), and the link stays."""
    app = app_factory(**idp.app_config(SIGN_IN_THROTTLE_FREE_ATTEMPTS=1, RATE_LIMIT_SIGN_IN="100 per minute"))
    client, _, _ = linked_admin(app, idp)
    statuses = [
        submit(client, "/onehealthport/disconnect", {"password": "not my password at all"}).status_code
        for _ in range(3)
    ]
    assert statuses[0] == 400 and statuses[-1] == 429
    waiting = submit(client, "/onehealthport/disconnect", {"password": PASSWORD})
    assert waiting.status_code == 429
    assert "Too many unsuccessful attempts" in page_text(waiting)
    assert len(identities(app)) == 1
