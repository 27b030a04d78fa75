"""Every page state in a real Chromium: no sideways scrolling at 320 or 640 px (WCAG 1.4.10 reflow),
no axe-core violation (WCAG 2.1 A and AA), focus on the error summary with JavaScript, the
summary first in <main> without it; screenshots of the main pages at 1280 and 375 px."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cqmr_wizard import audit
from cqmr_wizard.extensions import db
from cqmr_wizard.models import Invitation
from cqmr_wizard.models.base import utcnow

from .agreement_helpers import load_agreements
from .browser import ARTIFACTS
from .builders import DETAILS, add_member, sign_organization_agreement
from .helpers import PASSWORD, fresh_code, stored_secret
from .operator_support import make_operator, make_org
from .team_support import admin_with_org

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
ADMIN = "ada@willamette.example.org"
OPERATOR = "olive@cqmr.example.org"
SCREENS = ARTIFACTS / "screens"


def sign_in(page, live_server, email: str) -> None:
    """Both factors through the pages, as a person does."""
    app = live_server.app
    page.goto(live_server("/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Security code").fill(fresh_code(app, email, stored_secret(app, email)))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/(tasks|operator/)$"))


def build_organization(app) -> int:
    """An organization part-way through: details given, a team with every kind of row, one
    agreement signed; plus a second organization sharing its EIN and some audit events."""
    load_agreements(app)
    user_id, org_id = admin_with_org(app, ADMIN, name="Ada Admin", org_name=DETAILS["legal_name"])
    with app.app_context():
        from cqmr_wizard.models import Organization

        org = db.session.get(Organization, org_id)
        for key, value in DETAILS.items():
            setattr(org, key, value if key != "tax_id" else "93-1234567")
        org.details_confirmed_at = utcnow()
        db.session.add(
            Invitation(
                organization_id=org_id,
                email="ivy.invited.with.a.rather.long.address@willamette.example.org",
                full_name="Ivy Invited",
                role_keys="viewer",
                token_hash="x" * 64,
                invited_by_id=user_id,
                sent_at=utcnow(),
                expires_at=utcnow() + timedelta(days=7),
            )
        )
        db.session.commit()
    add_member(
        app, org_id, email="sam.signer@willamette.example.org", name="Sam Signer", roles=("signer", "viewer")
    )
    add_member(
        app, org_id, email="nick@willamette.example.org", name="Nick NoMfa", roles=("submitter",), mfa=False
    )
    with app.app_context():
        org = db.session.get(Organization, org_id)
        org.designated_signer_id = None
        db.session.commit()
    make_org(app, "Willamette Valley Clinic (duplicate)", members=2, tax_id="93-1234567")
    signer = _user_id(app, "sam.signer@willamette.example.org")
    sign_organization_agreement(app, signer, "opa")
    with app.app_context():
        audit.record("mfa.challenge_failed", actor_id=user_id, organization_id=org_id, details={"n": 1})
        db.session.commit()
    return org_id


def _user_id(app, email: str) -> int:
    from sqlalchemy import select

    from cqmr_wizard.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def check_page(page, label: str, problems: list[str]) -> None:
    """Reflow at the current width and axe-core's WCAG 2.1 A/AA rules, noted in `problems`."""
    page.wait_for_load_state("load")
    # 320 px, and 640 px: a 1280 px screen at 200 % zoom.
    for width in (640, 320):
        page.set_viewport_size({"width": width, "height": 800})
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if widths[0] > widths[1]:
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')]
                     .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                     .slice(-3).map(e => e.tagName + '.' + e.className)"""
            )
            problems.append(f"{label}: scrolls sideways at {width} px ({widths[0]} px wide): {wide}")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
             .map(v => v.id + ' ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"""
    )
    problems.extend(f"{label}: axe {violation}" for violation in result)


def submit_empty(page, button: str) -> None:
    page.get_by_role("button", name=button).first.click()
    page.wait_for_load_state("load")


def visit_all(page, live_server, org_id: int, problems: list[str]) -> None:
    """Walk every page state of an anonymous visitor, an administrator and an operator."""
    go = page.goto

    def state(path: str, label: str | None = None) -> None:
        go(live_server(path))
        check_page(page, label or path, problems)

    for path in ("/", "/help", "/sign-in", "/sign-up", "/reset-password", "/no-such-page"):
        state(path)
    go(live_server("/sign-in"))
    submit_empty(page, "Sign in")
    check_page(page, "/sign-in with errors", problems)
    go(live_server("/sign-up"))
    submit_empty(page, "Create account")
    check_page(page, "/sign-up with errors", problems)
    go(live_server("/sign-in"))
    page.evaluate("document.querySelector('input[name=csrf_token]').value = 'expired'")
    submit_empty(page, "Sign in")
    check_page(page, "expired page", problems)

    sign_in(page, live_server, ADMIN)
    for path in (
        "/tasks",
        "/onboarding/eligibility",
        "/onboarding/details/legal-name",
        "/onboarding/details/type",
        "/onboarding/details/identifiers",
        "/onboarding/details/address",
        "/onboarding/details/phone",
        "/onboarding/details/check",
        "/team",
        "/team/invite",
        "/team/invite/upload",
        "/agreements/organization",
        "/agreements/organization/signer",
        "/agreements/yours",
        "/agreements/consent",
        "/agreements/verify",
        "/two-step-verification/settings",
        "/training",
        "/go-to-cqmr",
        "/onehealthport",
    ):
        state(path)
    for path, button in (
        ("/onboarding/details/legal-name?e", "Save and continue"),
        ("/onboarding/details/address?e", "Save and continue"),
        ("/onboarding/eligibility?e", "Continue"),
        ("/team/invite?e", "Send invitation"),
        ("/agreements/consent?e", "Continue"),
    ):
        go(live_server(path.removesuffix("?e")))
        page.locator("main input[type=text]").evaluate_all("els => els.forEach(e => e.value = '')")
        submit_empty(page, button)
        check_page(page, f"{path} with errors", problems)
    go(live_server("/team/invite/upload"))
    page.set_input_files(
        "#csv_file",
        files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": b"name,email,roles\n,bad,Janitor\n"}],
    )
    submit_empty(page, "Check file and send invitations")
    check_page(page, "/team/invite/upload with row problems", problems)
    page.goto(live_server("/tasks"))
    page.get_by_role("button", name="Sign out", exact=True).click()

    sign_in(page, live_server, OPERATOR)
    for path in (
        "/operator/",
        "/operator/audit",
        f"/operator/organizations/{org_id}",
        "/operator/training",
        "/operator/?stalled=abc",
        "/operator/audit?date_from=2026-13-45",
    ):
        state(path)


def test_every_page_state_reflows_at_320_px_and_passes_axe(live_server, chromium, mailbox):
    app = live_server.app
    org_id = build_organization(app)
    make_operator(app, OPERATOR)
    context = chromium.new_context(viewport={"width": 320, "height": 800}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        problems: list[str] = []
        visit_all(page, live_server, org_id, problems)
    finally:
        context.close()
    assert problems == [], "\n".join(problems)


def test_screenshots_of_the_main_pages_at_1280_and_375_px(live_server, chromium, mailbox):
    app = live_server.app
    org_id = build_organization(app)
    make_operator(app, OPERATOR)
    SCREENS.mkdir(parents=True, exist_ok=True)
    pages = {
        ADMIN: {
            "start-page": "/",
            "task-list": "/tasks",
            "team": "/team",
            "agreements": "/agreements/organization",
        },
        OPERATOR: {"dashboard": "/operator/", "audit-trail": "/operator/audit"},
    }
    for email, shots in pages.items():
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            sign_in(page, live_server, email)
            for width in (1280, 375):
                page.set_viewport_size({"width": width, "height": 900})
                for name, path in shots.items():
                    page.goto(live_server(path))
                    target = SCREENS / f"{name}-{width}.png"
                    page.screenshot(path=str(target), full_page=True)
                    assert target.stat().st_size > 0
                    assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            context.close()
    assert org_id


def test_focus_moves_to_the_error_summary_and_without_javascript_it_comes_first(live_server, chromium):
    make_operator(live_server.app, OPERATOR)
    for javascript in (True, False):
        context = chromium.new_context(
            viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
        )
        try:
            page = context.new_page()
            page.goto(live_server("/sign-in"))
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_title(re.compile("^Error: "))
            page.wait_for_load_state("load")
            first = page.evaluate("document.querySelector('main').firstElementChild.id")
            assert first == "error-summary"
            if javascript:
                expect(page.locator("#error-summary")).to_be_focused()
            else:
                assert page.evaluate("document.activeElement.tagName") == "BODY"
            if javascript:
                # On the code page, a wrong code puts focus on the summary, not on the field.
                page.get_by_label("Email address").fill(OPERATOR)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                expect(page.get_by_label("Security code")).to_be_focused()
                page.get_by_label("Security code").fill("000000")
                page.get_by_role("button", name="Continue").click()
                expect(page).to_have_title(re.compile("^Error: "))
                expect(page.locator("#error-summary")).to_be_focused()
                assert page.get_by_label("Security code").get_attribute("autofocus") is None
        finally:
            context.close()
