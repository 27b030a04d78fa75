"""Signing an organization agreement with a passkey as the fresh second factor."""

from __future__ import annotations

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Signature, WebAuthnCredential

from .agreement_helpers import OPA, consent, load_agreements, post_form, review, signed_in_signer
from .helpers import fresh_code, page_text, stored_secret, submit
from .mfa_helpers import events
from .passkey_support import SoftAuthenticator, add_passkey, options

EMAIL = "sam@example.org"
SIGN = OPA + "/sign"
REVERIFY = "/two-step-verification/confirm-it-is-you"
SIGNED_BY = {"full_name": "Samantha Q. Signer", "title": "Chief Executive Officer", "agree": "y"}


def signer_with_passkey(app, client) -> SoftAuthenticator:
    load_agreements(app)
    signed_in_signer(app, client)
    code = fresh_code(app, EMAIL, stored_secret(app, EMAIL))
    assert submit(client, REVERIFY, {"code": code}).status_code == 302
    passkey = SoftAuthenticator()
    assert add_passkey(client, passkey).status_code == 302
    consent(client)
    review(client, OPA)
    return passkey


def test_a_signer_signs_with_a_passkey_instead_of_a_code(app, client):
    passkey = signer_with_passkey(app, client)
    page = page_text(client.get(SIGN))
    assert "Sign with your passkey" in page and "Or use your authenticator app" in page
    assertion = passkey.get(options(client, "get", SIGN).get_json())
    signed = post_form(client, SIGN, {**SIGNED_BY, "passkey_credential": assertion})
    assert signed.status_code == 302 and "/agreements/organization/signed/" in signed.location, page_text(
        signed
    )
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        passkey_id = db.session.scalar(select(WebAuthnCredential.id))
        assert (signature.passkey_id, signature.totp_step) == (passkey_id, None)
    assert [e["purpose"] for e in events(app, "mfa.passkey_used")] == ["sign_agreement"]


def test_a_replayed_passkey_assertion_signs_nothing(app, client):
    passkey = signer_with_passkey(app, client)
    assertion = passkey.get(options(client, "get", SIGN).get_json())
    options(client, "get", SIGN)  # a second ceremony started: the first answer is stale
    refused = post_form(client, SIGN, {**SIGNED_BY, "passkey_credential": assertion})
    assert refused.status_code == 400 and "already been answered" in page_text(refused)
    with app.app_context():
        assert db.session.scalar(select(Signature.id)) is None
    assert [e["reason"] for e in events(app, "mfa.passkey_refused")] == ["replayed"]
