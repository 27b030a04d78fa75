"""Browser journey: from the task list, "Sign in with OneHealthPort" leads to the provider's own
pages — the npm oidc-provider stand-in (OpenID Connect) or the npm saml-idp stand-in (SAML 2.0) —
and back to the wizard, where the task shows as Completed; and, either way, "Go to CQMR" signs the
person in at the local CQMR stand-in against the same provider (the `make run` wiring)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import start_live_server, start_with_provider
from .conftest import ON_POSTGRES
from .helpers import PASSWORD, free_port, stored_secret, totp_now
from .local_cqmr import LocalCqmr
from .provisioning_support import cqmr_user, ready_organization
from .saml_dev_idp import SamlDevIdp
from .team_support import admin_with_org
from .test_provisioning_browser import provider_sign_in, sign_in, wait_for

# The SAML journeys run in the SQLite pass only: a slow browser journey runs on one database
# (their database work is the OIDC journeys', which run on both; the SAML sign-in's own
# database work, the replay cache and held responses, is tested on both in test_sso_saml*.py).
ONE_DATABASE = pytest.mark.skipif(ON_POSTGRES, reason="browser journey: run in the SQLite pass only")

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


@pytest.mark.parametrize("protocol", [_oidc, pytest.param(_saml, marks=ONE_DATABASE)], ids=["oidc", "saml"])
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


def _oidc_with_cqmr(app_factory, tmp_path):
    """The wizard, the OpenID provider and the local CQMR as its second client:
    (live, cqmr, OneHealthPort organization id, sign in at the provider for `client`, stop)."""
    cqmr = LocalCqmr(tmp_path / "cqmr", port=free_port())
    live, provider = start_with_provider(app_factory, tmp_path, cqmr=cqmr)
    organization = provider.add_organization(name="Alpha Clinic OHP")
    account = provider.add_account(organization=organization, name="Ada Admin")

    def sign_in_there(page, client):
        provider_sign_in(page, account, client)

    def stop():
        cqmr.stop()
        provider.stop()

    return live, cqmr, organization, sign_in_there, stop


def _saml_with_cqmr(app_factory, tmp_path):
    """The wizard and the local CQMR as two service providers of one saml-idp (`make run
    SSO_PROTOCOL=saml`), each address known before anything starts."""
    port = free_port()
    cqmr = LocalCqmr(tmp_path / "cqmr", port=free_port())
    organization = {"id": "OHP-ALPHA", "name": "Alpha Clinic OHP"}
    account = {**SAML_ACCOUNT, "name": "Ada Admin"}
    idp = SamlDevIdp(
        tmp_path / "saml-idp", f"http://127.0.0.1:{port}", account, organization, cqmr_url=cqmr.base_url
    ).start()
    try:
        cqmr.start(saml_idp_metadata=f"{idp.url}/metadata")
        live = start_live_server(
            app_factory, tmp_path, {**idp.app_config(), **cqmr.wizard_config()}, port=port
        )
    except BaseException:
        cqmr.stop()
        idp.stop()
        raise

    def sign_in_there(page, client):
        assert page.url.startswith(idp.url + "/saml/sso?SAMLRequest="), (client, page.url)
        expect(page.locator("#userName")).to_have_value(account["sub"])
        page.locator("#btn-sign-in").click()

    def stop():
        cqmr.stop()
        idp.stop()

    return live, cqmr, organization["id"], sign_in_there, stop


@pytest.mark.parametrize(
    "protocol", [_oidc_with_cqmr, pytest.param(_saml_with_cqmr, marks=ONE_DATABASE)], ids=["oidc", "saml"]
)
def test_go_to_cqmr_signs_in_at_the_local_cqmr_against_the_same_provider(
    app_factory, page, tmp_path, protocol
):
    live, cqmr, ohp_org_id, sign_in_there, stop = protocol(app_factory, tmp_path)
    try:
        world = ready_organization(live.app, link_people=False, ohp_org_id=ohp_org_id)
        sign_in(page, live, world["admin_email"])
        page.get_by_role("link", name="Connect your OneHealthPort account").click()
        page.get_by_role("button", name="Sign in with OneHealthPort").click()
        sign_in_there(page, "Oregon CQMR onboarding")
        expect(page.locator("#status-ohp_account")).to_have_text("Completed")
        wait_for(lambda: (cqmr_user(cqmr, world["admin"]) or {}).get("active"), "the administrator active")

        page.get_by_role("button", name="Go to CQMR").click()
        sign_in_there(page, "Oregon CQMR (local stand-in)")
        expect(page.locator("#signed-in")).to_have_text(
            "Signed in to the CQMR as Ada Admin, Willamette Valley Clinic, "
            "roles Organization administrator, Authorized signer"
        )
        assert page.url == f"{cqmr.base_url}/"
    finally:
        stop()
