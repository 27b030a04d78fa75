"""Browser journey: from the task list, "Sign in with OneHealthPort" leads to the provider's own
pages — the npm oidc-provider stand-in (OpenID Connect) or the npm saml-idp stand-in (SAML 2.0) —
and back to the wizard, where the task shows as Completed."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import start_live_server, start_with_provider
from .helpers import PASSWORD, free_port, stored_secret, totp_now
from .saml_dev_idp import SamlDevIdp
from .team_support import admin_with_org

pytestmark = pytest.mark.browser

ADMIN = "admin@alpha.example.org"
SAML_ACCOUNT = {
    "username": "alice@alpha.example",
    "password": "unused-by-saml-idp",
    "sub": "ohp-saml-alice",
    "email": "alice@alpha.example",
    "name": "Alice Admin",
    "organization": "OHP-ALPHA",
}


def _oidc(app_factory, tmp_path):
    """The wizard beside the OpenID provider; (live, sign in at the provider's pages, stop)."""
    live, provider = start_with_provider(app_factory, tmp_path)
    issuer = live.app.config["OIDC_ISSUER"]
    account = provider.add_account(
        organization=provider.add_organization(name="Alpha Clinic OHP"), name="Alice Admin"
    )

    def sign_in_there(page):
        expect(page.locator("h1")).to_have_text("Sign in to OneHealthPort")
        assert page.url.startswith(issuer + "/interaction/")
        page.get_by_label("Username").fill(account["username"])
        page.get_by_label("Password").fill(account["password"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("h1")).to_contain_text("Allow Oregon CQMR onboarding")
        page.get_by_role("button", name="Allow").click()

    return live, sign_in_there, provider.stop


def _saml(app_factory, tmp_path):
    """The wizard beside saml-idp, each told the other's address first."""
    port = free_port()
    organization = {"id": "OHP-ALPHA", "name": "Alpha Clinic OHP"}
    idp = SamlDevIdp(tmp_path / "saml-idp", f"http://127.0.0.1:{port}", SAML_ACCOUNT, organization).start()
    live = start_live_server(app_factory, tmp_path, idp.app_config(), port=port)

    def sign_in_there(page):
        assert page.url.startswith(idp.url + "/saml/sso?SAMLRequest=")
        expect(page.locator("#userName")).to_have_value("ohp-saml-alice")
        page.locator("#btn-sign-in").click()  # its page then posts the Response to the ACS

    return live, sign_in_there, idp.stop


@pytest.mark.parametrize("protocol", [_oidc, _saml], ids=["oidc", "saml"])
def test_connect_onehealthport_in_a_browser(app_factory, page, tmp_path, protocol):
    live, sign_in_there, stop = protocol(app_factory, tmp_path)
    try:
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

        sign_in_there(page)

        expect(page).to_have_url(live("/tasks"))
        expect(page.get_by_text("Your organization is connected to OneHealthPort as")).to_be_visible()
        expect(page.locator("#status-onehealthport")).to_have_text("Completed")
    finally:
        stop()
