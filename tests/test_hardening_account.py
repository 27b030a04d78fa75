"""Issue 15, item 10: operators cannot use OneHealthPort, a signed-in user changes their
password (current password + fresh code), and the production session cookie is `__Host-`."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import OidcIdentity, User

from .builders import make_user
from .helpers import PASSWORD, fresh_code, page_text, sign_in, stored_secret, submit
from .sso_support import audit_events, connect

NEW_PASSWORD = "purple elephant marmalade 77"
CHANGE = "/account/password"


def test_an_operator_cannot_link_onehealthport(app_factory, idp):
    app = app_factory(**idp.app_config())
    account = idp.add_account(organization=idp.add_organization())
    user_id = make_user(app, "staff@cqmr.example.org")
    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id).values(is_operator=True))
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "staff@cqmr.example.org").status_code == 302
    response = connect(client, idp, account)
    assert response.status_code == 403
    assert "Registry operator accounts cannot be connected to OneHealthPort" in page_text(response)
    with app.app_context():
        assert db.session.scalars(select(OidcIdentity)).all() == []
    assert audit_events(app, "sso.refused")[-1]["reason"] == "operator"


def change_password(client, app, email="pat@example.org", **fields):
    data = {
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "code": fresh_code(app, email, stored_secret(app, email)),
        **fields,
    }
    return submit(client, CHANGE, data)


def test_a_signed_in_user_changes_their_password(app, mailbox):
    make_user(app)
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(elsewhere)
    response = change_password(here, app)
    assert response.status_code == 302
    assert here.get("/tasks").status_code == 200  # this session goes on
    assert elsewhere.get("/tasks").status_code == 302  # every other one ended
    assert "password was changed" in mailbox.last_to("pat@example.org")["Subject"]
    assert sign_in(app.test_client()).status_code == 400
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"current_password": "not my password at all"}, "Your current password is not right"),
        ({"code": "000000"}, "The code is not right"),
        ({"new_password": "short"}, "Password must be at least 12 characters"),
        ({"code": ""}, "Enter the 6-digit code from your authenticator app"),
    ],
)
def test_a_password_change_needs_the_current_password_and_a_fresh_code(app, mailbox, fields, message):
    make_user(app)
    client = app.test_client()
    sign_in(client)
    mailbox.clear()
    response = change_password(client, app, **fields)
    assert response.status_code == 400
    assert message in page_text(response)
    assert sign_in(app.test_client()).status_code == 302  # the old password still works
    assert mailbox.to("pat@example.org") == []


def test_the_password_page_needs_both_factors(app):
    make_user(app)
    client = app.test_client()
    assert client.get(CHANGE).location.startswith("/sign-in")
    sign_in(client, second_factor=False)
    assert client.get(CHANGE).location == "/two-step-verification/"


def test_production_names_the_session_cookie_with_the_host_prefix(app_factory):
    app = app_factory(
        CQMR_ENV="production",
        SERVER_NAME_FOR_LINKS="https://onboarding.example.org",
        RECOVERY_CODE_KEY="k" * 64,
        SESSION_COOKIE_SECURE=True,
    )
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-cqmr_session"
    client = app.test_client()
    response = client.get("/sign-in", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-cqmr_session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


def test_a_host_prefixed_cookie_without_secure_refuses_to_start(app_factory):
    from cqmr_wizard.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="__Host-"):
        app_factory(SESSION_COOKIE_NAME="__Host-cqmr_session", SESSION_COOKIE_SECURE=False)
