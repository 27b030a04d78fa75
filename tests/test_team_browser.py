"""Browser journey: an administrator invites a person; the person opens the emailed link,
creates an account, sets up two-step verification by scanning the QR code, and shows as
ready on the team page."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from .agreement_helpers import complete_organization, load_agreements
from .browser import choose, confirm_recovery_codes_in, sign_user_agreements_in
from .builders import link_onehealthport
from .helpers import PASSWORD, link_from, stored_secret, totp_now
from .team_support import admin_with_org, user_id_of

pytestmark = pytest.mark.browser

ADMIN = "admin@alpha.example.org"
INVITEE = "bea@alpha.example.org"


def secret_from_qr(locator, path) -> str:
    """Decode the QR code on the page as a phone would: screenshot → zbarimg → otpauth URI."""
    locator.screenshot(path=str(path))
    uri = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp", uri
    return parse_qs(parts.query)["secret"][0]


def test_invited_person_joins_sets_up_mfa_and_is_ready(live_server, page, chromium, mailbox, tmp_path):
    _, org_id = admin_with_org(live_server.app)
    load_agreements(live_server.app)
    page.goto(live_server("/sign-in"))
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Security code").fill(totp_now(stored_secret(live_server.app, ADMIN)))
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Team").click()
    expect(page.locator("h1")).to_have_text("Invite your team")
    page.get_by_role("link", name="Invite a person").click()
    # Without roles the page says what is missing and keeps the answers.
    page.get_by_label("Full name").fill("Bea Builder")
    page.get_by_label("Email address").fill(INVITEE)
    page.get_by_role("button", name="Send invitation").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator("#error-summary").get_by_text("Select at least one role")).to_be_visible()
    choose(page, "Authorized signer")
    choose(page, "Report viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"An invitation was sent to {INVITEE}")).to_be_visible()
    expect(page.locator(f'tr[data-email="{INVITEE}"] .cqmr-readiness')).to_have_text("Invited")

    link = link_from(mailbox.last_to(INVITEE), "/invitations/")
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    try:
        bea = context.new_page()
        bea.goto(live_server(link))
        expect(bea.get_by_role("heading", name="Join Alpha Clinic")).to_be_visible()
        assert bea.get_by_label("Full name").input_value() == "Bea Builder"
        assert bea.locator("#invited-email").text_content().strip() == INVITEE
        bea.get_by_label("Create a password").fill(PASSWORD)
        bea.get_by_role("button", name="Create account and join").click()

        expect(bea.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
        secret = secret_from_qr(bea.locator(".cqmr-qr svg"), tmp_path / "qr.png")
        bea.get_by_label("Security code").fill(totp_now(secret))
        bea.get_by_role("button", name="Continue").click()

        confirm_recovery_codes_in(bea)
        expect(bea.get_by_role("heading", name="Onboarding for Alpha Clinic")).to_be_visible()
        assert bea.get_by_role("link", name="Invite your team").count() == 0  # read-only for her
        expect(bea.locator("#status-mfa")).to_have_text("Completed")
        page.reload()  # a member now, but not ready until her own agreements are signed
        expect(page.locator(f'tr[data-email="{INVITEE}"] .cqmr-readiness')).to_have_text("Not ready yet")

        sign_user_agreements_in(bea, "Bea Builder")
    finally:
        context.close()

    page.reload()
    row = page.locator(f'tr[data-email="{INVITEE}"]')
    # Her own OneHealthPort account is the last of her tasks (its sign-in round trip is the
    # journey of tests/test_provisioning_browser.py); here it is connected directly, and the
    # organization's own tasks are done too: "Ready" is the gate's answer.
    expect(row.locator(".cqmr-readiness")).to_have_text("Not ready yet")
    complete_organization(live_server.app, org_id, user_id_of(live_server.app, INVITEE))
    link_onehealthport(live_server.app, user_id_of(live_server.app, INVITEE))
    page.reload()
    expect(row.locator(".cqmr-readiness")).to_have_text("Ready")
    assert "Authorized signer, Report viewer" in row.text_content()
    page.get_by_role("link", name="Your tasks").first.click()
    expect(page.locator("#status-team")).to_have_text("Completed")
