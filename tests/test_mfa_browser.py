"""Two-step verification in a real browser: the QR code as Chromium draws it, read by zbarimg,
and the whole journey from sign-up to signing in with a recovery code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from playwright.sync_api import expect

from .builders import make_user
from .helpers import PASSWORD, fresh_code, link_from, totp_now
from .mfa_helpers import ENROLL, key_on_page, password_only, steady_clock, wrong_code

pytestmark = pytest.mark.browser

EMAIL = "grace@clinic.example.org"


def read_qr(locator, path: Path) -> str:
    """Screenshot the QR code as drawn and decode it with zbarimg."""
    locator.screenshot(path=str(path))
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"zbarimg found no code in {path}: {result.stderr}"
    return result.stdout.strip()


def assert_otpauth(uri: str, account: str) -> str:
    """Check every part of the otpauth:// URI; return its secret."""
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == f"/Oregon CQMR:{account}"
    query = parse_qs(parts.query)
    assert set(query) == {"secret", "issuer", "algorithm", "digits", "period"}
    assert query["issuer"] == ["Oregon CQMR"] and query["algorithm"] == ["SHA1"]
    assert query["digits"] == ["6"] and query["period"] == ["30"]
    [secret] = query["secret"]
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    return secret


def test_the_qr_code_drawn_by_chromium_holds_the_otpauth_uri(app, client, page, tmp_path):
    make_user(app, "pat@example.org", mfa=False)
    password_only(client)
    response = client.get(ENROLL)
    secret = key_on_page(response)
    page.set_content(response.get_data(as_text=True))
    uri = read_qr(page.locator(".cqmr-qr svg"), tmp_path / "qr.png")
    assert uri == (
        f"otpauth://totp/Oregon%20CQMR:pat@example.org?secret={secret}"
        "&issuer=Oregon%20CQMR&algorithm=SHA1&digits=6&period=30"
    )
    assert assert_otpauth(uri, "pat@example.org") == secret
    svg = page.locator(".cqmr-qr svg")
    assert svg.get_attribute("role") == "img"
    assert "QR code to add your Oregon CQMR account" in page.locator("#qr-title").text_content()


def test_sign_up_set_up_and_sign_in_with_a_code_and_with_a_recovery_code(
    live_server, page, mailbox, tmp_path
):
    app = live_server.app
    page.goto(live_server("/sign-up"))
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.goto(live_server(link_from(mailbox.last_to(EMAIL), "/verify-email/")))
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # The password alone leads to set-up; the QR code on the page is read as a phone would.
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("QR code to add your Oregon CQMR account"))
    expect(qr).to_be_visible()
    secret = assert_otpauth(read_qr(qr, tmp_path / "set-up-qr.png"), EMAIL)
    page.get_by_label("Security code").fill(wrong_code(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    steady_clock()
    page.get_by_label("Security code").fill(totp_now(secret))
    page.get_by_role("button", name="Continue").click()

    # Recovery codes: shown once, downloadable, confirmed by typing one back.
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    listed = page.locator("ol[aria-label='Your recovery codes'] li").all_text_contents()
    codes = [code.strip() for code in listed]
    assert len(codes) == 10
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the codes").click()
    saved = Path(download.value.path()).read_text()
    assert all(code in saved for code in codes)
    asked = page.locator("label[for=recovery_code]").text_content()
    position = int(re.search(r"\d+", asked).group(0))
    page.get_by_label(asked.strip()).fill(codes[position - 1])
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status-mfa")).to_have_text("Completed")

    # Sign out; sign in with the password and a code from the authenticator.
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    heading = page.get_by_role("heading", name="Enter the code from your authenticator app")
    expect(heading).to_be_visible()
    page.get_by_label("Security code").fill(fresh_code(app, EMAIL, secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status-mfa")).to_have_text("Completed")

    # Sign out; sign in with the password and a recovery code.
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Use a recovery code instead").click()
    page.get_by_label("Recovery code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("You have 9 recovery codes left")).to_be_visible()
    expect(page.locator("#status-mfa")).to_be_visible()
