"""Browser journey of the yearly access review page, with the keyboard only: from the team page,
change one person's roles (first forgetting to pick one: the error summary), remove another,
confirm; axe-clean and no sideways scroll at 320 px in each state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AccessReview, User

from .builders import add_member
from .provisioning_support import membership_of, ready_organization
from .test_layout_browser import check_page, sign_in

pytestmark = pytest.mark.browser


def tab_until(page, matches: str, limit: int = 300) -> None:
    """Press Tab until the focused element satisfies the JavaScript predicate `matches` (on `e`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const e = document.activeElement; return {matches}; }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {matches}")


def focus_id(page, element_id: str) -> None:
    tab_until(page, f"e.id === {element_id!r}")


def test_an_administrator_reviews_access_with_the_keyboard(live_server, chromium):
    app = live_server.app
    world = ready_organization(app)
    vic = add_member(
        app,
        world["org"],
        email="vic@example.org",
        name="Vic Viewer",
        roles=("viewer",),
        agreements=True,
        linked=True,
    ).user_id
    max_id, vic_id = membership_of(app, world["member"]), membership_of(app, vic)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        sign_in(page, live_server, world["admin_email"])
        page.goto(live_server("/team"))
        tab_until(page, "e.textContent.trim() === 'Review who has access to the CQMR'")
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("Review who has access to the CQMR")
        problems: list[str] = []
        check_page(page, "review page", problems)
        page.set_viewport_size({"width": 1280, "height": 900})

        # Max: change roles, but untick his only role; Vic: remove access.
        focus_id(page, f"action-{max_id}-0")  # the group's checked radio: Keep
        page.keyboard.press("ArrowDown")
        expect(page.locator(f"#action-{max_id}-1")).to_be_checked()
        focus_id(page, f"roles-{max_id}-2")  # Data submitter
        page.keyboard.press("Space")
        focus_id(page, f"action-{vic_id}-0")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        expect(page.locator(f"#action-{vic_id}-2")).to_be_checked()
        tab_until(page, "e.textContent.trim() === 'Confirm review'")
        page.keyboard.press("Enter")

        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.locator("#error-summary")).to_be_focused()
        expect(page.locator("#error-summary")).to_contain_text("Select at least one role for Max Member")
        check_page(page, "review page with an error", problems)
        page.set_viewport_size({"width": 1280, "height": 900})
        # The answers are kept; the summary's link takes focus to Max's roles.
        expect(page.locator(f"#action-{vic_id}-2")).to_be_checked()
        page.locator("#error-summary").focus()
        tab_until(page, "e.textContent.trim() === 'Select at least one role for Max Member'")
        page.keyboard.press("Enter")
        expect(page.locator(f"#roles-{max_id}-0")).to_be_focused()
        focus_id(page, f"roles-{max_id}-3")  # Report viewer
        page.keyboard.press("Space")
        tab_until(page, "e.textContent.trim() === 'Confirm review'")
        page.keyboard.press("Enter")

        expect(
            page.get_by_text("Access review confirmed: 1 kept, 1 with new roles, 1 removed.")
        ).to_be_visible()
        expect(page.get_by_text("The last review was confirmed on")).to_be_visible()
        check_page(page, "review page after confirming", problems)
        assert problems == [], "\n".join(problems)
    finally:
        context.close()
    with app.app_context():
        assert db.session.get(User, vic).deactivated_at is not None
        (review,) = db.session.query(AccessReview).all()
        assert review.changed["roles_changed"][0]["to"] == ["viewer"]
