"""MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS: registry operators must hold a passkey and sign
in with it; one without is sent to add one and can reach nothing else."""

from __future__ import annotations

from cqmr_wizard.access import Access, decide

from .helpers import fresh_code, page_text, sign_in, stored_secret, submit
from .operator_support import OPERATOR_EMAIL, make_operator
from .passkey_support import ADD, CHALLENGE, SoftAuthenticator, add_passkey, use_passkey

REVERIFY = "/two-step-verification/confirm-it-is-you"
DASHBOARD = "/operator/"


def test_the_rule_sends_a_passkey_less_operator_to_add_one_before_anything_else():
    for level in (Access.OPERATOR, Access.USER):
        assert decide(level, "full", True, None, passkey_needed=True) == "add_passkey"
        assert decide(level, "full", True, None) == "allow"
    assert decide(Access.SIGNED_IN, "full", True, None, passkey_needed=True) == "allow"
    assert decide(Access.PUBLIC, "full", True, None, passkey_needed=True) == "allow"


def test_an_operator_without_a_passkey_is_sent_to_add_one_then_signs_in_with_it(app_factory):
    app = app_factory(MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS=True)
    make_operator(app)
    client = app.test_client()
    assert sign_in(client, OPERATOR_EMAIL).status_code == 302
    for page in (DASHBOARD, "/tasks", "/two-step-verification/settings", "/account"):
        assert client.get(page).location == ADD, page
    # Adding one starts with confirming it is them (the app code), then the passkey.
    assert client.get(ADD).location.startswith(REVERIFY)
    code = fresh_code(app, OPERATOR_EMAIL, stored_secret(app, OPERATOR_EMAIL))
    assert submit(client, REVERIFY, {"code": code}, page=f"{REVERIFY}?next={ADD}").location == ADD
    passkey = SoftAuthenticator()
    assert add_passkey(client, passkey).status_code == 302
    assert client.get(DASHBOARD).status_code == 200

    # At the next sign-in the app code is neither offered nor accepted; the passkey is.
    again = app.test_client()
    submit(again, "/sign-in", {"email": OPERATOR_EMAIL, "password": "correct horse battery staple 42"})
    shown = page_text(again.get(CHALLENGE))
    assert "Use your passkey" in shown and "authenticator app shows" not in shown
    code = fresh_code(app, OPERATOR_EMAIL, stored_secret(app, OPERATOR_EMAIL))
    refused = again.post(CHALLENGE, data={"code": code, "csrf_token": _token(again)})
    assert refused.status_code == 400 and "sign in with their passkey" in page_text(refused)
    assert use_passkey(again, passkey).status_code == 302
    assert again.get(DASHBOARD).status_code == 200


def test_without_the_setting_operators_keep_using_the_app(app):
    make_operator(app)
    client = app.test_client()
    sign_in(client, OPERATOR_EMAIL)
    assert client.get(DASHBOARD).status_code == 200


def _token(client) -> str:
    import re

    html = client.get(CHALLENGE).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
