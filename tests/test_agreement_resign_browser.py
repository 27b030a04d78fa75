"""Browser journey, keyboard only: a signer whose organization is live meets the banner of a new
version of the participation agreement (its date, the operator's summary, the difference of the
two texts), reads and signs it from the banner; every page reflows at 320 px and passes axe."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from cqmr_wizard.agreements import documents
from cqmr_wizard.models.base import utcnow

from .agreement_helpers import complete_organization, load_agreements, make_signer_org
from .builders import link_onehealthport, sign_user_agreements
from .helpers import PASSWORD, fresh_code, stored_secret
from .test_layout_browser import check_page

pytestmark = pytest.mark.browser

EMAIL = "sam@example.org"
OPA = "CQMR Organizational Participation Agreement"


def publish_v2(app) -> None:
    path = documents.SAMPLE_DIRECTORY / "opa.md"
    text = path.read_text() + "\n9. Records of each submission are kept for six years.\n"
    with app.app_context():
        documents.publish(
            documents.parse_document(text, path.name),
            sign_by=utcnow() + timedelta(days=60),
            summary="A new clause 9 says how long submission records are kept.",
        )


def focused_name(page) -> str:
    """The focused control's label (a field) or text (a link, a button, a summary)."""
    return page.evaluate(
        """() => { const e = document.activeElement;
             if (!e || e === document.body) return '';
             if (e.labels && e.labels.length) return e.labels[0].innerText.trim();
             return (e.innerText || e.value || '').trim(); }"""
    )


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's text or label contains `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if name in focused_name(page):
            return
    raise AssertionError(f"Tab never reached {name!r}")


@pytest.fixture
def page(chromium):
    """A page that lets axe-core in (the app's CSP admits no injected script)."""
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_a_signer_signs_the_new_version_from_the_banner_with_the_keyboard(live_server, page):
    app = live_server.app
    load_agreements(app)
    user_id, org_id = make_signer_org(app, EMAIL)
    complete_organization(app, org_id, user_id)
    link_onehealthport(app, user_id)
    sign_user_agreements(app, user_id)
    publish_v2(app)
    secret = stored_secret(app, EMAIL)
    problems: list[str] = []

    page.goto(live_server("/sign-in"))
    tab_to(page, "Email address")
    page.keyboard.type(EMAIL)
    tab_to(page, "Password")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "Security code")
    page.keyboard.type(fresh_code(app, EMAIL, secret))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/tasks"), (page.url, page.locator("main").inner_text()[:300])

    banner = page.locator("#new-version-opa-banner")
    expect(banner).to_contain_text(f"A new version of {OPA} must be signed by")
    expect(banner).to_contain_text("A new clause 9 says how long submission records are kept.")
    expect(page.get_by_role("button", name="Go to CQMR")).to_be_visible()  # still in force
    tab_to(page, "See what changed in the text")
    page.keyboard.press("Enter")
    expect(banner.locator("ins").last).to_contain_text("Records of each submission are kept for six years.")
    check_page(page, "task list with a new version", problems)

    tab_to(page, "Read and sign Version 2")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=OPA, exact=True)).to_be_visible()
    check_page(page, "reading version 2", problems)
    tab_to(page, "I have read it: continue to sign")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"Sign the {OPA}")).to_be_visible()
    tab_to(page, "Your full legal name")
    page.keyboard.type("Sam Signer")
    tab_to(page, "Your title")
    page.keyboard.type("Director")
    tab_to(page, "I agree to sign this agreement electronically")
    page.keyboard.press("Space")
    tab_to(page, "Code from your authenticator app")
    page.keyboard.type(fresh_code(app, EMAIL, secret))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=f"You have signed the {OPA}")).to_be_visible()

    page.goto(live_server("/agreements/organization"))
    expect(page.locator("#new-version-opa-banner")).to_have_count(0)
    check_page(page, "agreements after signing", problems)
    page.goto(live_server("/tasks"))
    expect(page.locator("#status-org_agreements")).to_have_text(re.compile("Completed"))
    assert problems == [], "\n".join(problems)
