"""Browser journey on the `make run` wiring (the wizard under gunicorn, the local provider and the
local CQMR), for a live organization: while the administrator's invitation is open, existing
members still land signed in at the CQMR and nothing about them changes there; the newcomer
onboards alone and lands there only once their own tasks are done."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import confirm_recovery_codes_in, sign_user_agreements_in, start_with_provider
from .helpers import PASSWORD, free_port, link_from, totp_now
from .live_support import all_active_in_group, live_organization, scim_record, scim_records
from .local_cqmr import LocalCqmr
from .team_support import user_id_of
from .test_provisioning_browser import outbox_rows, provider_sign_in, sign_in, wait_for

pytestmark = pytest.mark.browser

DOMAIN = "willow.example.org"
ORGANIZATION = "Willamette Valley Clinic"
NEWCOMER = f"ivy@{DOMAIN}"


def go_to_cqmr(page, account: dict, expected: str) -> None:
    """From the task list, "Go to CQMR" through the provider to the CQMR's signed-in page."""
    page.get_by_role("button", name="Go to CQMR").click()
    provider_sign_in(page, account, "Oregon CQMR (local stand-in)")
    expect(page.locator("#signed-in")).to_have_text(expected)


def join(page, live, link: str) -> None:
    """The newcomer accepts the invitation and sets up two-step verification (with the key
    shown for typing by hand), ending on their task list."""
    page.goto(live(link))
    expect(page.get_by_role("heading", name=f"Join {ORGANIZATION}")).to_be_visible()
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_role("heading", name="Set up two-step verification")).to_be_visible()
    secret = page.locator("#totp-key").text_content().replace(" ", "")
    page.get_by_label("Security code").fill(totp_now(secret))
    page.get_by_role("button", name="Continue").click()
    confirm_recovery_codes_in(page)


def test_members_of_a_live_organization_keep_the_cqmr_while_a_newcomer_onboards(
    app_factory, chromium, page, mailbox, tmp_path
):
    cqmr = LocalCqmr(tmp_path / "cqmr", port=free_port())
    live, provider = start_with_provider(app_factory, tmp_path, cqmr=cqmr)
    issuer = live.app.config["OIDC_ISSUER"]
    contexts = []

    def new_page():
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(15000)
        contexts.append(context)
        return context.new_page()

    try:
        ohp_org = provider.add_organization(name=ORGANIZATION)
        accounts = {
            name: provider.add_account(organization=ohp_org, name=full)
            for name, full in (("ada", "Ada Admin"), ("max", "Max Member"), ("mia", "Mia Member"))
        }
        org_id, people = live_organization(
            live.app,
            DOMAIN,
            org_name=ORGANIZATION,
            ohp_org_id=ohp_org,
            issuer=issuer,
            subjects={f"{name}@{DOMAIN}": account["sub"] for name, account in accounts.items()},
        )
        existing = list(people.values())
        before = scim_records(cqmr, existing)
        all_active_in_group(cqmr, org_id, before)

        # The administrator invites a fourth colleague.
        sign_in(page, live, f"ada@{DOMAIN}")
        page.goto(live("/team/invite"))
        page.get_by_label("Full name").fill("Ivy Newcomer")
        page.get_by_label("Email address").fill(NEWCOMER)
        page.locator("label", has_text="Report viewer").first.click()
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text(f"An invitation was sent to {NEWCOMER}")).to_be_visible()
        page.get_by_role("link", name="Your tasks").first.click()
        expect(page.locator("#status-team")).to_have_text("Completed")
        expect(page.locator("#invitations-waiting")).to_contain_text("Invitations waiting: 1")

        # While it is open, the administrator and a member still land signed in at the CQMR.
        go_to_cqmr(
            page,
            accounts["ada"],
            f"Signed in to the CQMR as Ada Admin, {ORGANIZATION}, "
            "roles Organization administrator, Authorized signer",
        )
        max_page = new_page()
        sign_in(max_page, live, f"max@{DOMAIN}")
        go_to_cqmr(
            max_page,
            accounts["max"],
            f"Signed in to the CQMR as Max Member, {ORGANIZATION}, roles Report viewer",
        )
        assert scim_records(cqmr, existing) == before

        # The newcomer onboards alone; the CQMR has them only once their last task is done.
        ivy_page = new_page()
        join(ivy_page, live, link_from(mailbox.last_to(NEWCOMER), "/invitations/"))
        ivy = user_id_of(live.app, NEWCOMER)
        for key in ("eligibility", "onehealthport", "details", "team", "org_agreements", "mfa"):
            expect(ivy_page.locator(f"#status-{key}")).to_have_text("Completed")
        sign_user_agreements_in(ivy_page, "Ivy Newcomer")
        assert scim_record(cqmr, ivy) is None
        ivy_account = provider.add_account(organization=ohp_org, name="Ivy Newcomer")
        expect(ivy_page.locator("#status-ohp_account")).to_have_text("Not started")
        ivy_page.get_by_role("link", name="Connect your OneHealthPort account").click()
        ivy_page.get_by_role("button", name="Sign in with OneHealthPort").click()
        provider_sign_in(ivy_page, ivy_account, "Oregon CQMR onboarding")
        expect(ivy_page.locator("#status-ohp_account")).to_have_text("Completed")
        wait_for(
            lambda: (scim_record(cqmr, ivy) or {}).get("active"),
            "Ivy Newcomer active",
            lambda: outbox_rows(live.app),
        )
        go_to_cqmr(
            ivy_page,
            ivy_account,
            f"Signed in to the CQMR as Ivy Newcomer, {ORGANIZATION}, roles Report viewer",
        )

        # Nobody else's CQMR record changed, and the member's open CQMR session still works.
        assert scim_records(cqmr, existing) == before
        max_page.goto(f"{cqmr.base_url}/")
        expect(max_page.locator("#signed-in")).to_contain_text("Max Member")
    finally:
        for context in contexts:
            context.close()
        cqmr.stop()
        provider.stop()
