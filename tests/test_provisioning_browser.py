"""Browser journey on the `make run` wiring (the wizard under gunicorn, the local provider and
the local CQMR): two people finish onboarding, each "Go to CQMR" lands them signed in at the
CQMR with their name, organization and roles; once deactivated, the member going straight to
the CQMR is refused."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .browser import start_with_provider
from .helpers import PASSWORD, free_port, stored_secret, totp_now
from .local_cqmr import LocalCqmr
from .provisioning_support import cqmr_user, membership_of, ready_organization, state_of

pytestmark = pytest.mark.browser


def wait_for(check, what: str, explain=lambda: "", attempts: int = 150):
    """Poll the CQMR until `check()` holds: provisioning is delivered after commit, off the request."""
    for _ in range(attempts):
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"the CQMR never showed {what}: {explain()}")


def outbox_rows(app) -> list[tuple]:
    """The SCIM messages of the outbox, to explain a wait that ran out."""
    from cqmr_wizard.extensions import db
    from cqmr_wizard.models import OutboxMessage

    with app.app_context():
        messages = db.session.query(OutboxMessage).filter(OutboxMessage.kind == "scim")
        return [(m.id, m.status, m.attempts, m.last_error) for m in messages]


def sign_in(page, live, email: str) -> None:
    page.goto(live("/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Security code").fill(totp_now(stored_secret(live.app, email)))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(live("/tasks"))


def provider_sign_in(page, account: dict, client_name: str) -> None:
    """The provider's own pages: its login (only the first time in this browser), then consent."""
    heading = page.locator("h1")
    expect(heading).to_have_text(re.compile(f"Sign in to OneHealthPort|Allow {re.escape(client_name)}"))
    if "Sign in" in heading.inner_text():
        page.get_by_label("Username").fill(account["username"])
        page.get_by_label("Password").fill(account["password"])
        page.get_by_role("button", name="Sign in").click()
    expect(heading).to_contain_text(f"Allow {client_name}")
    page.get_by_role("button", name="Allow").click()


def finish_and_go_to_cqmr(page, live, cqmr, person: dict) -> None:
    """The person's last task (their own OneHealthPort account), then "Go to CQMR"."""
    sign_in(page, live, person["email"])
    expect(page.locator("#status-ohp_account")).to_have_text("Not started")
    page.get_by_role("link", name="Connect your OneHealthPort account").click()
    expect(page.locator("h1")).to_have_text("Connect your OneHealthPort account")
    page.get_by_role("button", name="Sign in with OneHealthPort").click()
    provider_sign_in(page, person["account"], "Oregon CQMR onboarding")
    expect(page.locator("#status-ohp_account")).to_have_text("Completed")
    wait_for(
        lambda: (cqmr_user(cqmr, person["id"]) or {}).get("active"),
        f"{person['email']} active",
        lambda: (state_of(live.app, person["id"]), outbox_rows(live.app)),
    )
    page.get_by_role("button", name="Go to CQMR").click()
    provider_sign_in(page, person["account"], "Oregon CQMR (local stand-in)")
    expect(page.locator("#signed-in")).to_have_text(person["expected"])


def test_two_people_finish_go_to_the_cqmr_and_a_deactivated_one_is_refused(
    app_factory, chromium, page, tmp_path
):
    cqmr = LocalCqmr(tmp_path / "cqmr", port=free_port())
    cqmr_url = f"http://127.0.0.1:{cqmr.port}"
    live, provider = start_with_provider(app_factory, tmp_path, cqmr=cqmr)
    issuer = live.app.config["OIDC_ISSUER"]
    other = chromium.new_context(viewport={"width": 1280, "height": 1000})
    try:
        ohp_org = provider.add_organization(name="Willamette Valley Clinic")
        admin_account = provider.add_account(organization=ohp_org, name="Ada Admin")
        member_account = provider.add_account(organization=ohp_org, name="Max Member")
        world = ready_organization(live.app, issuer=issuer, link_people=False, ohp_org_id=ohp_org)
        people = [
            {
                "id": world["admin"],
                "email": world["admin_email"],
                "account": admin_account,
                "expected": "Signed in to the CQMR as Ada Admin, Willamette Valley Clinic, "
                "roles Organization administrator, Authorized signer",
            },
            {
                "id": world["member"],
                "email": world["member_email"],
                "account": member_account,
                "expected": "Signed in to the CQMR as Max Member, Willamette Valley Clinic, roles Data submitter",
            },
        ]
        assert cqmr_user(cqmr, world["admin"]) is None  # not ready before their own link
        member_page = other.new_page()
        other.set_default_timeout(15000)
        finish_and_go_to_cqmr(page, live, cqmr, people[0])
        finish_and_go_to_cqmr(member_page, live, cqmr, people[1])

        # The administrator deactivates the member in the wizard.
        page.goto(live(f"/team/members/{membership_of(live.app, world['member'])}/deactivate"))
        page.get_by_role("button", name="Deactivate Max Member").click()
        wait_for(lambda: cqmr_user(cqmr, world["member"])["active"] is False, "Max Member inactive")

        # Going straight to the CQMR, past the wizard, is refused.
        member_page.goto(f"{cqmr_url}/")
        expect(member_page.locator("#refused")).to_have_text("You do not have access to the CQMR")
        page.goto(f"{cqmr_url}/")
        expect(page.locator("#signed-in")).to_have_text(people[0]["expected"])
    finally:
        other.close()
        cqmr.stop()
        provider.stop()
