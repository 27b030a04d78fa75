"""Browser journey: the authorized signer consents, reads and signs both organization agreements
with codes from oathtool, downloads the certificate, and the task list shows Completed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Signature

from .agreement_helpers import load_agreements, make_signer_org, sha256
from .browser import choose
from .helpers import PASSWORD, fresh_code, stored_secret

pytestmark = pytest.mark.browser

EMAIL = "sam@example.org"


def sign(page, app, secret: str, title: str) -> None:
    """From the overview, read and sign one agreement."""
    page.get_by_role("link", name=f"Read and sign the {title}").click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.locator("#agreement-text")).to_contain_text("SAMPLE TEXT")
    page.get_by_role("button", name="I have read it: continue to sign").click()
    expect(page.get_by_role("heading", name=f"Sign the {title}")).to_be_visible()
    page.get_by_label("Your full legal name").fill("Samantha Q. Signer")
    page.get_by_label("Your title").fill("Chief Executive Officer")
    choose(page, "I agree to sign this agreement electronically")
    page.get_by_label("Code from your authenticator app").fill(fresh_code(app, EMAIL, secret))
    page.get_by_role("button", name="Sign the agreement").click()
    expect(page.get_by_role("heading", name=f"You have signed the {title}")).to_be_visible()


def test_the_signer_signs_both_agreements_and_downloads_the_certificate(live_server, page, mailbox, tmp_path):
    app = live_server.app
    load_agreements(app)
    make_signer_org(app)
    secret = stored_secret(app, EMAIL)
    page.goto(live_server("/sign-in"))
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Security code").fill(fresh_code(app, EMAIL, secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status-org_agreements")).to_have_text(re.compile("Not started"))

    page.get_by_role("link", name="Sign the organization agreements").click()
    page.get_by_role("link", name="Read and sign the CQMR Organizational Participation Agreement").click()
    # Consent to electronic records comes first, and an unticked box is explained.
    expect(
        page.get_by_role("heading", name="Consent to use electronic records and signatures")
    ).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator("#error-summary")).to_contain_text("Select the box to consent")
    choose(
        page,
        "I have read this disclosure, I can open and keep PDF files, and I agree to use "
        "electronic records and signatures",
    )
    page.get_by_role("button", name="Continue").click()

    page.get_by_role("button", name="I have read it: continue to sign").click()
    page.get_by_label("Your full legal name").fill("Samantha Q. Signer")
    page.get_by_role("button", name="Sign the agreement").click()  # no title, no tick, no code
    expect(page).to_have_title(re.compile("^Error: "))
    for message in (
        "Enter your title",
        "Select the box to agree to sign",
        "Enter the 6-digit code from your authenticator app",
    ):
        expect(page.locator("#error-summary")).to_contain_text(message)
    page.get_by_role("link", name="Back to the text").click()
    page.goto(live_server("/agreements/organization"))

    sign(page, app, secret, "CQMR Organizational Participation Agreement")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the certificate of completion (PDF)").click()
    certificate = tmp_path / "certificate.pdf"
    download_info.value.save_as(certificate)
    with app.app_context():
        stored = db.session.scalar(select(Signature.certificate_sha256))
    assert sha256(certificate.read_bytes()) == stored
    result = app.test_cli_runner().invoke(args=["agreements", "verify", str(certificate)])
    assert result.exit_code == 0 and "VERIFIED" in result.output

    page.get_by_role("link", name="Continue").click()
    sign(page, app, secret, "MiHIN Terms of Service")
    # After the last signature, Continue goes straight to the task list.
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(live_server("/tasks"))
    expect(page.locator("#status-org_agreements")).to_have_text(re.compile("Completed"))
    assert len(mailbox.to(EMAIL)) == 2
