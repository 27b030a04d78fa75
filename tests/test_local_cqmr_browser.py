"""Browser journey at the local CQMR: the wizard's third-party-initiated login goes through the
provider's login and consent pages (whose form-action must allow the CQMR's callback) to the
signed-in page, and deprovisioning closes the open session's access."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from .test_local_cqmr import provision, set_active

pytestmark = pytest.mark.browser


def test_sign_in_at_the_local_cqmr_in_a_browser(local_cqmr, page):
    org = local_cqmr.idp.add_organization(name="Alpha Clinic OHP")
    account = local_cqmr.idp.add_account(organization=org, name="Alice Admin")
    user_id = provision(local_cqmr, account, organization="Alpha Clinic", roles=["administrator"])
    query = {
        "iss": local_cqmr.idp.issuer,
        "login_hint": account["sub"],
        "target_link_uri": f"{local_cqmr.base_url}/",
    }

    page.goto(f"{local_cqmr.base_url}/login?{urlencode(query)}")
    expect(page.locator("h1")).to_have_text("Sign in to OneHealthPort")
    page.get_by_label("Username").fill(account["username"])
    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_contain_text("Allow Oregon CQMR (local stand-in)")
    page.get_by_role("button", name="Allow").click()

    expect(page.locator("h1")).to_have_text(
        "Signed in to the CQMR as Alice Admin, Alpha Clinic, roles administrator"
    )
    assert page.url == f"{local_cqmr.base_url}/"

    set_active(local_cqmr, user_id, False)
    page.reload()
    expect(page.locator("h1")).to_have_text("You do not have access to the CQMR")

    page.get_by_role("button", name="Sign out of the CQMR").click()
    expect(page.get_by_role("link", name="Sign in with OneHealthPort")).to_be_visible()
