"""Passkeys (WebAuthn) as a second factor, driven through HTTP by a software authenticator:
set-up, sign-in, removal, and every refusal with its message and audit event."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.mfa import admin
from cqmr_wizard.models import User, WebAuthnCredential

from .builders import enroll_mfa, make_user
from .helpers import page_text, sign_in, submit, task_status
from .mfa_helpers import RECOVERY_CODES, codes_on_page, events, password_only
from .passkey_support import ADD, CHALLENGE, SoftAuthenticator, add_passkey, options, use_passkey

EMAIL = "pat@example.org"
SETTINGS = "/two-step-verification/settings"
REVERIFY = "/two-step-verification/confirm-it-is-you"
REVERIFY_PASSKEY = "/two-step-verification/confirm-it-is-you/passkey"


def with_passkey(app, client, email: str = EMAIL, **authenticator) -> SoftAuthenticator:
    """A person who set up a passkey as their only second factor and saved their recovery
    codes; the client is signed in with both factors."""
    make_user(app, email, mfa=False)
    password_only(client, email)
    passkey = SoftAuthenticator(**authenticator)
    added = add_passkey(client, passkey)
    assert added.status_code == 302 and added.location == RECOVERY_CODES, page_text(added)
    shown = client.get(RECOVERY_CODES)
    position = int(re.search(r"Type recovery code (\d+)", page_text(shown)).group(1))
    saved = submit(client, RECOVERY_CODES, {"recovery_code": codes_on_page(shown)[position - 1]})
    assert saved.status_code == 302, page_text(saved)
    return passkey


def fresh_sign_in(app, email: str = EMAIL):
    client = app.test_client()
    password_only(client, email)
    return client


def refusal_reasons(app) -> list[str]:
    return [e["reason"] for e in events(app, "mfa.passkey_refused")]


def test_a_passkey_completes_two_step_verification_and_signs_in(app, client):
    make_user(app, "lee@example.org", mfa=False)
    password_only(client, "lee@example.org")
    assert "Set up a passkey or security key instead" in page_text(
        client.get("/two-step-verification/set-up")
    )
    passkey = with_passkey(app, app.test_client())
    lee = fresh_sign_in(app)
    page = lee.get(CHALLENGE)
    assert "Use your passkey" in page_text(page) and "authenticator app shows" not in page_text(page)
    assert "Use a recovery code instead" in page_text(page)
    signed_in = use_passkey(lee, passkey)
    assert signed_in.status_code == 302 and signed_in.location == "/tasks", page_text(signed_in)
    assert task_status(lee.get("/tasks"), "mfa") == "Completed"
    settings = page_text(lee.get(SETTINGS))
    assert "Laptop" in settings and "Not used yet" not in settings
    assert [e["method"] for e in events(app, "mfa.challenge_passed")] == ["passkey"]
    assert events(app, "mfa.passkey_registered")[0]["first"] is True


def test_the_app_code_stays_available_beside_a_passkey(app, client):
    make_user(app, EMAIL)
    sign_in(client, EMAIL)
    assert client.get(ADD).status_code == 302  # adding one is a change: confirm it is you first
    passkey = SoftAuthenticator()
    confirmed = submit(client, REVERIFY, {"code": _code(app)}, page=REVERIFY)
    assert confirmed.status_code == 302
    added = add_passkey(client, passkey, name="Blue key")
    assert added.status_code == 302 and added.location == SETTINGS, page_text(added)
    assert not events(app, "mfa.enrolled")  # no second set of recovery codes
    again = fresh_sign_in(app)
    page = page_text(again.get(CHALLENGE))
    assert page.index("Use your passkey") < page.index("Or enter the code from your authenticator app")
    assert sign_in(app.test_client(), EMAIL).status_code == 302  # the app code still signs in


def _code(app) -> str:
    from .helpers import fresh_code, stored_secret

    return fresh_code(app, EMAIL, stored_secret(app, EMAIL))


def test_a_replayed_assertion_is_refused(app, client):
    passkey = with_passkey(app, client)
    other = fresh_sign_in(app)
    answer = options(other, "get", CHALLENGE).get_json()
    assertion = passkey.get(answer)
    assert (
        submit(
            other, "/two-step-verification/passkey", {"passkey-credential": assertion}, page=CHALLENGE
        ).status_code
        == 302
    )
    third = fresh_sign_in(app)
    replayed = submit(
        third, "/two-step-verification/passkey", {"passkey-credential": assertion}, page=CHALLENGE
    )
    assert replayed.status_code == 400
    assert "already been answered" in page_text(replayed)
    assert refusal_reasons(app) == ["replayed"]


@pytest.mark.parametrize(
    ("misbehaviour", "reason", "message"),
    [
        ({"origin": "https://cqmr-login.example.net"}, "origin", "different website address"),
        ({"verified": False}, "user_verification", "did not check that it is you"),
    ],
)
def test_assertions_from_another_site_or_without_verification_are_refused(
    app, client, misbehaviour, reason, message
):
    passkey = with_passkey(app, client)
    other = fresh_sign_in(app)
    refused = use_passkey(other, passkey, **misbehaviour)
    assert refused.status_code == 400 and message in page_text(refused)
    assert page_text(refused).startswith("Error:") or "<title>Error:" in refused.get_data(as_text=True)
    assert refusal_reasons(app) == [reason]
    assert other.get("/tasks").status_code == 302  # still not past the second factor


@pytest.mark.parametrize(
    ("misbehaviour", "reason"),
    [({"origin": "https://cqmr-login.example.net"}, "origin"), ({"verified": False}, "user_verification")],
)
def test_registrations_from_another_site_or_without_verification_are_refused(
    app, client, misbehaviour, reason
):
    make_user(app, EMAIL, mfa=False)
    password_only(client, EMAIL)
    refused = add_passkey(client, SoftAuthenticator(), **misbehaviour)
    assert refused.status_code == 400
    assert refusal_reasons(app) == [reason]
    with app.app_context():
        assert db.session.scalar(select(WebAuthnCredential.id)) is None


def test_a_counter_that_goes_backwards_is_refused_with_a_clone_warning(app, client, mailbox):
    passkey = with_passkey(app, client)
    assert use_passkey(fresh_sign_in(app), passkey, counter=5).status_code == 302
    refused = use_passkey(fresh_sign_in(app), passkey, counter=3)
    assert refused.status_code == 400 and "counter went backwards" in page_text(refused)
    [event] = events(app, "mfa.passkey_refused")
    assert event["reason"] == "counter" and event["clone_warning"] is True
    assert any("was refused" in m["Subject"] for m in mailbox.messages)


def test_a_passkey_of_another_person_is_refused(app, client):
    pats = with_passkey(app, client)
    with_passkey(app, app.test_client(), "lee@example.org")
    lee = fresh_sign_in(app, "lee@example.org")
    refused = use_passkey(lee, pats)
    assert refused.status_code == 400 and "not one added to this account" in page_text(refused)
    assert refusal_reasons(app) == ["not_yours"]


def test_removing_needs_a_fresh_passkey_and_a_removed_one_is_refused(app, client):
    first = with_passkey(app, client)
    with app.app_context():
        first_id = db.session.scalar(select(WebAuthnCredential.id))
    remove = f"/two-step-verification/passkeys/{first_id}/remove"
    # The only second factor cannot go.
    assert client.get(remove).location.startswith(REVERIFY)
    assert (
        use_passkey(client, first, page=f"{REVERIFY}?next={remove}", action=REVERIFY_PASSKEY).status_code
        == 302
    )
    kept = submit(client, remove)
    assert kept.status_code == 400 and "only passkey" in page_text(kept)
    # With a second passkey it can (after confirming it is you again).
    assert (
        use_passkey(client, first, page=f"{REVERIFY}?next={ADD}", action=REVERIFY_PASSKEY).status_code == 302
    )
    second = SoftAuthenticator()
    assert add_passkey(client, second, name="Phone").status_code == 302
    assert (
        use_passkey(client, second, page=f"{REVERIFY}?next={remove}", action=REVERIFY_PASSKEY).status_code
        == 302
    )
    assert submit(client, remove).status_code == 302
    settings = page_text(client.get(SETTINGS))
    assert "Remove Phone" in settings and "Remove Laptop" not in settings
    assert [e["name"] for e in events(app, "mfa.passkey_removed")] == ["Laptop"]
    refused = use_passkey(fresh_sign_in(app), first)
    assert refused.status_code == 400 and "not one added to this account" in page_text(refused)
    assert refusal_reasons(app)[-1] == "not_yours"


def test_a_reset_by_an_administrator_removes_passkeys(app, client):
    with_passkey(app, client)
    admin_id = make_user(app, "ada@example.org")
    with app.app_context():
        admin.reset_second_factor(
            db.session.get(User, admin_id), db.session.scalar(select(User).filter_by(email=EMAIL))
        )
        assert db.session.scalar(select(WebAuthnCredential.id)) is None
    assert fresh_sign_in(app).get(CHALLENGE).location.endswith("/set-up")


def test_the_kind_of_second_factor_is_app_passkey_or_both(app, client):
    with_passkey(app, client)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).filter_by(email=EMAIL))
        assert admin.member_status(user_id).kind == "passkey"
    enroll_mfa(app, user_id)
    with app.app_context():
        assert admin.member_status(user_id).kind == "both"


def test_the_operator_console_shows_each_kind_and_its_reset_removes_passkeys(app):
    from .operator_support import OPERATOR_EMAIL, make_org, operator_client, post_with_token

    org_id = make_org(app, "Cascade Health", members=3)
    with app.app_context():
        app_only, with_both, passkey_only = db.session.scalars(
            select(User.id).where(User.email.like("m%")).order_by(User.id)
        ).all()
        for user_id, kinds in ((app_only, "a"), (with_both, "ap"), (passkey_only, "p")):
            if "p" in kinds:
                db.session.add(
                    WebAuthnCredential(
                        user_id=user_id,
                        credential_id=f"cred-{user_id}",
                        public_key=b"k",
                        sign_count=0,
                        transports="",
                        name="Key",
                    )
                )
        db.session.commit()
    enroll_mfa(app, app_only)
    enroll_mfa(app, with_both)
    client = operator_client(app)
    page = client.get(f"/operator/organizations/{org_id}").get_data(as_text=True)
    shown = {
        user_id: re.search(rf'id="member-{user_id}">.*?<td>(Set up[^<]*)</td>', page, re.S).group(1)
        for user_id in (app_only, with_both, passkey_only)
    }
    assert shown == {
        app_only: "Set up: app",
        with_both: "Set up: app and passkey",
        passkey_only: "Set up: passkey",
    }
    url = f"/operator/organizations/{org_id}/members/{passkey_only}/reset-second-factor"
    assert "Passkeys 1" in page_text(client.get(url))
    code = _operator_code(app, OPERATOR_EMAIL)
    assert post_with_token(client, url, {"code": code}, token_page=url).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(WebAuthnCredential.user_id)).all() == [with_both]


def _operator_code(app, email: str) -> str:
    from .helpers import fresh_code, stored_secret

    return fresh_code(app, email, stored_secret(app, email))
