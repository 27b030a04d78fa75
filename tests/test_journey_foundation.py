"""Browser journey: sign up → verification link from the mail → sign in → eligibility →
details → the task list shows the right statuses."""

import re

import pytest
from playwright.sync_api import expect

from .browser import choose
from .helpers import PASSWORD, link_from, totp_now

pytestmark = pytest.mark.browser


def test_first_timer_starts_onboarding(live_server, page, mailbox):
    page.goto(live_server("/"))
    page.get_by_role("link", name="Start now").click()
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email address").fill("grace@clinic.example.org")
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(live_server(link_from(mailbox.last_to("grace@clinic.example.org"), "/verify-email/")))
    expect(page.get_by_text("Your email address is confirmed")).to_be_visible()
    page.get_by_label("Email address").fill("grace@clinic.example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Two-step verification comes first (its own journey is in test_mfa_browser.py).
    key = page.locator("#totp-key").text_content().replace(" ", "")
    page.get_by_label("Security code").fill(totp_now(key))
    page.get_by_role("button", name="Continue").click()
    asked = page.locator("label[for=recovery_code]").text_content().strip()  # waits for the page
    codes = page.locator("ol[aria-label='Your recovery codes'] li").all_text_contents()
    page.get_by_label(asked).fill(codes[int(asked.split()[-1]) - 1].strip())
    page.get_by_role("button", name="Continue").click()

    expect(page.locator("#status-eligibility")).to_have_text("Not started")
    expect(page.locator("#status-details")).to_have_text("Cannot start yet")
    page.get_by_role("link", name="Confirm your organization is eligible").click()
    choose(page, "HIPAA covered entity")
    page.get_by_role("button", name="Continue").click()

    # An empty answer gets an error summary that links to the field.
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_title(re.compile("^Error: "))
    page.locator("#error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "legal_name"
    page.get_by_label("What is your organization's legal name?").fill("Willamette Valley Clinic")
    page.get_by_role("button", name="Save and continue").click()

    # Save and come back later: the task list shows the details task in progress.
    page.get_by_role("button", name="Save and come back later").click()
    expect(page.locator("#status-eligibility")).to_have_text("Completed")
    expect(page.locator("#status-details")).to_have_text("In progress")
    page.get_by_role("link", name="Give your organization's details").click()

    choose(page, "Clinic or physician practice")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Employer Identification Number (EIN)").fill("93-1234567")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("Address line 1").fill("500 Summer St NE")
    page.get_by_label("City").fill("Salem")
    page.get_by_label("State, territory or military post").select_option("OR")
    page.get_by_label("ZIP code").fill("97301")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_label("What is your organization's main phone number?").fill("503-555-0100")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Check your organization's details")).to_be_visible()
    expect(page.get_by_text("Willamette Valley Clinic")).to_be_visible()
    page.get_by_role("button", name="Confirm details").click()
    expect(page.locator("#status-details")).to_have_text("Completed")
