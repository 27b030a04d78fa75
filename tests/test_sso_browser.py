"""Browser journey: from the task list, "Sign in with OneHealthPort" leads to the provider's own
login and consent pages (the npm oidc-provider stand-in) and back to the wizard, where the
task shows as Completed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import start_with_provider
from .helpers import PASSWORD, stored_secret, totp_now
from .team_support import admin_with_org

pytestmark = pytest.mark.browser

ADMIN = "admin@alpha.example.org"


def test_connect_onehealthport_in_a_browser(app_factory, page, tmp_path):
    live, provider = start_with_provider(app_factory, tmp_path)
    issuer = live.app.config["OIDC_ISSUER"]
    try:
        account = provider.add_account(
            organization=provider.add_organization(name="Alpha Clinic OHP"), name="Alice Admin"
        )
        admin_with_org(live.app, ADMIN)

        page.goto(live("/sign-in"))
        page.get_by_label("Email address").fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.get_by_label("Security code").fill(totp_now(stored_secret(live.app, ADMIN)))
        page.get_by_role("button", name="Continue").click()

        expect(page.locator("#status-onehealthport")).to_have_text("Not started")
        page.get_by_role("link", name="Connect your organization to OneHealthPort").click()
        expect(page.locator("h1")).to_have_text("Connect your organization to OneHealthPort")
        page.get_by_role("button", name="Sign in with OneHealthPort").click()

        expect(page.locator("h1")).to_have_text("Sign in to OneHealthPort")
        assert page.url.startswith(issuer + "/interaction/")
        page.get_by_label("Username").fill(account["username"])
        page.get_by_label("Password").fill(account["password"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("h1")).to_contain_text("Allow Oregon CQMR onboarding")
        page.get_by_role("button", name="Allow").click()

        expect(page).to_have_url(live("/tasks"))
        expect(page.get_by_text("Your organization is connected to OneHealthPort as")).to_be_visible()
        expect(page.locator("#status-onehealthport")).to_have_text("Completed")
    finally:
        provider.stop()
