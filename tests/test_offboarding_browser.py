"""The offboarding pages in a real browser: each state reflows at 320 px and passes axe-core
(WCAG 2.1 A/AA), the administrator's request, the operator's steps and the refusal page."""

from __future__ import annotations

from .operator_support import make_operator
from .team_support import admin_with_org
from .test_layout_browser import ADMIN, OPERATOR, check_page, sign_in


def test_every_offboarding_page_state_passes_axe(live_server, chromium):
    app = live_server.app
    _, org_id = admin_with_org(app, ADMIN, name="Ada Admin", org_name="Willamette Valley Clinic")
    make_operator(app, OPERATOR)
    problems: list[str] = []
    org = f"/operator/organizations/{org_id}"
    admin = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    operator = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    try:
        a, o = admin.new_page(), operator.new_page()
        a.set_default_timeout(15000)
        o.set_default_timeout(15000)

        def state(page, path: str, label: str | None = None, shows: str = "") -> None:
            page.set_viewport_size({"width": 1280, "height": 800})
            page.goto(live_server(path))
            assert shows in page.inner_text("main"), label or path
            check_page(page, label or path, problems)

        def press(page, button: str, label: str, reason: str | None = None, shows: str = "") -> None:
            page.set_viewport_size({"width": 1280, "height": 800})
            if reason is not None:
                page.locator("textarea[name=reason]").fill(reason)
            page.get_by_role("button", name=button).click()
            page.wait_for_load_state("load")
            assert shows in page.inner_text("main"), label
            check_page(page, label, problems)

        sign_in(a, live_server, ADMIN)
        sign_in(o, live_server, OPERATOR)
        state(a, "/team/participation")
        press(a, "Ask to end our participation", "request with errors", shows="There is a problem")
        press(a, "Ask to end our participation", "request waiting", "We are closing", shows="waiting")
        state(o, org, "organization with a request", shows="We are closing")
        state(o, f"{org}/offboarding-request/decline")
        press(o, "Decline the request", "decline with errors", shows="There is a problem")
        state(o, f"{org}/offboard", "offboard answering a request")
        press(o, "End participation", "offboard with errors", shows="There is a problem")
        press(
            o,
            "End participation",
            "organization offboarded",
            "The clinic closed",
            shows="Participation ended on",
        )
        state(o, "/operator/?participation=offboarded", shows="1 organization")
        state(o, f"{org}/reinstate")
        press(o, "Reinstate", "reinstate with errors", shows="There is a problem")
        state(a, "/tasks", "refusal page, signed in", shows="no longer takes part in the CQMR")
    finally:
        admin.close()
        operator.close()
    assert problems == [], "\n".join(problems)
