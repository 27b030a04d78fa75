"""Passkeys in Chromium with a virtual authenticator (CDP WebAuthn domain): set up a passkey as
the second factor, sign out and in with it, add a second and remove the first with a fresh
passkey, sign an agreement with a passkey; every passkey page passes axe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Signature, WebAuthnCredential

from .agreement_helpers import load_agreements, make_signer_org
from .browser import choose, confirm_recovery_codes_in
from .builders import make_user
from .helpers import PASSWORD, fresh_code, stored_secret

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
EMAIL = "grace@clinic.example.org"


def virtual_authenticator(page) -> tuple[object, str]:
    """A platform authenticator that verifies its user: (the CDP session, its id)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def assert_accessible(page) -> None:
    """axe-core's WCAG 2.x A/AA rules (run through CDP: the page's CSP stays as it is)."""
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})).violations
             .map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"""
    )
    assert violations == [], violations


def on_localhost(live_server):
    """The live server's address by name: a relying party id cannot be an IP address."""
    return lambda path="/": live_server(path).replace("//127.0.0.1:", "//localhost:")


def sign_in_with_password(page, live_server, email: str = EMAIL) -> None:
    page.goto(on_localhost(live_server)("/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_passkey_is_set_up_used_to_sign_in_and_replaced(live_server, page):
    app = live_server.app
    make_user(app, EMAIL, mfa=False)
    cdp, first_authenticator = virtual_authenticator(page)
    sign_in_with_password(page, live_server)
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    page.get_by_role("link", name="Set up a passkey or security key instead").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name for this passkey (optional)").fill("This computer")
    page.get_by_role("button", name="Create passkey").click()
    confirm_recovery_codes_in(page)
    expect(page.locator("#status-mfa")).to_have_text(re.compile("Completed"))

    # Sign out; the passkey is offered first at the next sign-in.
    page.get_by_role("button", name="Sign out", exact=True).click()
    sign_in_with_password(page, live_server)
    expect(page.get_by_role("heading", name="Use your passkey", exact=True)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Use your passkey").click()
    page.wait_for_url(re.compile(r"/tasks$"))

    # A second passkey, on another authenticator, after confirming it is you with the first.
    page.goto(on_localhost(live_server)("/two-step-verification/settings"))
    expect(page.locator("#passkeys")).to_contain_text("This computer")
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_role("button", name="Use your passkey").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": first_authenticator})
    virtual_authenticator(page)
    page.get_by_label("Name for this passkey (optional)").fill("Security key")
    page.get_by_role("button", name="Create passkey").click()
    expect(page.locator("#passkeys")).to_contain_text("Security key")

    # Removing the first needs a fresh passkey: the second one answers.
    page.get_by_role("link", name="Remove This computer").click()
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    page.get_by_role("button", name="Use your passkey").click()
    expect(page.get_by_role("heading", name="Remove the passkey “This computer”?")).to_be_visible()
    page.get_by_role("button", name="Remove passkey").click()
    expect(page.locator("#passkeys")).not_to_contain_text("This computer")
    with app.app_context():
        assert db.session.scalars(select(WebAuthnCredential.name)).all() == ["Security key"]


def test_a_cancelled_ceremony_is_explained_in_a_focused_error_summary(live_server, page):
    app = live_server.app
    make_user(app, EMAIL, mfa=False)
    cdp, authenticator = virtual_authenticator(page)
    sign_in_with_password(page, live_server)
    page.get_by_role("link", name="Set up a passkey or security key instead").click()
    # The person does not confirm it is them: the browser refuses the ceremony.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
    page.get_by_role("button", name="Create passkey").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Try again")
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)


def test_a_signer_signs_an_agreement_with_a_passkey(live_server, page):
    app = live_server.app
    load_agreements(app)
    make_signer_org(app)
    email = "sam@example.org"
    secret = stored_secret(app, email)
    virtual_authenticator(page)
    sign_in_with_password(page, live_server, email)
    page.get_by_label("Security code").fill(fresh_code(app, email, secret))
    page.get_by_role("button", name="Continue").click()
    page.goto(on_localhost(live_server)("/two-step-verification/set-up/passkey"))
    page.get_by_label("Security code").fill(fresh_code(app, email, secret))
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Create passkey").click()
    expect(page.locator("#passkeys")).to_contain_text("Passkey")

    title = "CQMR Organizational Participation Agreement"
    page.goto(on_localhost(live_server)("/agreements/organization"))
    page.get_by_role("link", name=f"Read and sign the {title}").click()
    choose(
        page,
        "I have read this disclosure, I can open and keep PDF files, and I agree to use "
        "electronic records and signatures",
    )
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="I have read it: continue to sign").click()
    page.get_by_label("Your full legal name").fill("Samantha Q. Signer")
    page.get_by_label("Your title").fill("Chief Executive Officer")
    choose(page, "I agree to sign this agreement electronically")
    assert_accessible(page)
    page.get_by_role("button", name="Sign with your passkey").click()
    expect(page.get_by_role("heading", name=f"You have signed the {title}")).to_be_visible()
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.passkey_id is not None and signature.totp_step is None
