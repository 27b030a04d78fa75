"""Service design, as people meet it over HTTP: the task list's one next step and its "all done"
panel, the only signer signing without a choice, Continue after the last signature, the
expired-page words, contact details, and dates in Pacific time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Signature
from cqmr_wizard.template_filters import when_text

from .agreement_helpers import OPA, OVERVIEW, consent, load_agreements, signed_in_signer
from .builders import add_member, make_user, sign_organization_agreement
from .helpers import page_text, sign_in, submit
from .operator_support import make_org, operator_client
from .team_support import admin_with_org
from .test_gate import build as build_complete

CONTACT = {
    "PROGRAM_CONTACT_EMAIL": "help-desk@cqmr.example.gov",
    "PROGRAM_CONTACT_PHONE": "971-555-0123",
    "PROGRAM_CONTACT_HOURS": "Tuesdays only, 10 to 11",
}


def signed_in_newcomer(app, client) -> None:
    make_user(app, "ada@example.org")
    assert sign_in(client, "ada@example.org").status_code == 302


def test_the_task_list_offers_one_next_step_and_counts_required_tasks_only(app, client):
    signed_in_newcomer(app, client)
    html = client.get("/tasks").get_data(as_text=True)
    next_step = re.search(r'id="next-step".*?</div>\s*</div>', html, re.S).group(0)
    # Two-step verification is done at first sign-in; eligibility is the one next step.
    assert re.findall(r'class="usa-button" href="([^"]+)"', next_step) == ["/onboarding/eligibility"]
    order = re.findall(r'data-task="([a-z_]+)"', html)
    assert order[:3] == ["mfa", "eligibility", "onehealthport"] and order[-1] == "training"
    assert "You have completed 1 of 8 required tasks." in page_text(client.get("/tasks"))
    assert 'id="all-done"' not in html


def test_everything_done_puts_go_to_cqmr_at_the_top(app):
    client, _, _ = build_complete(app)
    html = client.get("/tasks").get_data(as_text=True)
    panel = html[html.index('id="all-done"') : html.index("</form>", html.index('id="all-done"'))]
    assert "Go to CQMR" in panel and 'action="/go-to-cqmr"' in panel
    assert html.index('id="all-done"') < html.index('id="task-list"')
    assert 'id="next-step"' not in html


def test_the_only_signer_signs_without_being_chosen(app, client):
    load_agreements(app)
    _, org_id = signed_in_signer(app, client, designate=False)
    overview = page_text(client.get(OVERVIEW))
    assert "You will sign the organization agreements" in overview
    assert "Read and sign the CQMR Organizational Participation Agreement" in overview
    consent(client)
    assert client.get(OPA).status_code == 200

    # A second signer: now someone must choose, and each agreement says so.
    add_member(app, org_id, email="sue@example.org", name="Sue Second", roles=("signer",))
    overview = page_text(client.get(OVERVIEW))
    assert "No one has been chosen to sign yet" in overview
    assert overview.count("To do: choose who signs") == 2
    assert "Not signed" not in overview
    assert client.get(OPA).status_code == 403


def test_continue_after_the_last_signature_goes_to_the_task_list(app, client):
    load_agreements(app)
    user_id, _ = signed_in_signer(app, client)
    sign_organization_agreement(app, user_id, "opa")
    with app.app_context():
        first = db.session.scalar(select(Signature.id))
    page = client.get(f"/agreements/organization/signed/{first}").get_data(as_text=True)
    assert 'href="/agreements/organization">Continue to the next agreement' in page
    sign_organization_agreement(app, user_id, "mihin_tos")
    page = client.get(f"/agreements/organization/signed/{first}").get_data(as_text=True)
    assert 'href="/tasks">Continue to your tasks' in page
    # The fingerprints sit in a "Technical details" disclosure, not in the running text.
    assert re.search(r"<details[^>]*>\s*<summary>Technical details</summary>", page)


def test_an_expired_form_says_so_and_that_nothing_was_saved(app, client):
    response = client.post("/sign-in", data={"email": "a@example.org", "password": "x", "csrf_token": "old"})
    assert response.status_code == 400
    text = page_text(response)
    assert "This page has expired" in text and "were not saved" in text
    assert "Error code" not in text and "could not be understood" not in text
    assert "Go to the start page" in text


def test_help_not_eligible_and_error_pages_say_how_to_reach_the_program_team(app_factory):
    app = app_factory(**CONTACT)
    client = app.test_client()
    pages = [client.get("/help"), client.get("/no-such-page")]
    make_user(app, "nora@example.org")
    sign_in(client, "nora@example.org")
    pages.append(submit(client, "/onboarding/eligibility", {"eligibility": "neither"}))
    assert [p.status_code for p in pages] == [200, 404, 200]
    for response in pages:
        text = page_text(response)
        assert "Contact the CQMR program team" in text
        for value in CONTACT.values():
            assert value in text


def test_dates_read_as_people_in_oregon_read_them():
    # 05:30 UTC on December 1 is still the evening of November 30 in Oregon.
    moment = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    assert when_text(moment) == "November 30, 2026"
    assert when_text(moment, time=True) == "November 30, 2026 at 9:30 p.m. PST"
    assert when_text(datetime(2026, 7, 4, 19, 5)) == "July 4, 2026"  # naive values are UTC
    assert when_text(datetime(2026, 7, 4, 19, 5), time=True) == "July 4, 2026 at 12:05 p.m. PDT"


def test_organizations_sharing_an_ein_are_flagged_on_the_dashboard(app):
    first = make_org(app, "Cascade Clinic", tax_id="93-1234567")
    second = make_org(app, "Cascade Clinic LLC", tax_id="93-1234567")
    alone = make_org(app, "Other Health", tax_id="93-7654321")
    client = operator_client(app)
    html = client.get("/operator/").get_data(as_text=True)
    alert = html[html.index('id="shared-ein"') : html.index("</div>", html.index('id="shared-ein"'))]
    assert "1 EIN on this page used by more than one organization" in alert
    assert f'/operator/organizations/{first}"' in alert and f'/operator/organizations/{second}"' in alert
    for org_id, flagged in ((first, True), (second, True), (alone, False)):
        row = html[html.index(f'id="org-{org_id}"') :]
        assert ("EIN shared with another organization" in row[: row.index("</tr>")]) is flagged


def test_a_shared_ein_is_flagged_on_the_page_that_shows_it(app):
    """The alert names the shared EINs of the organizations on the page (looked up by index, so
    the dashboard costs the same whatever the registry's size); a search finds the others."""
    make_org(app, "Aardvark Clinic", tax_id="93-1111111")
    make_org(app, "Zebra Clinic", tax_id="93-2222222")
    make_org(app, "Zebra Clinic Again", tax_id="93-2222222")
    app.config["OPERATOR_PAGE_SIZE"] = 1
    client = operator_client(app)
    first = client.get("/operator/").get_data(as_text=True)
    assert 'id="org-' in first and 'id="shared-ein"' not in first  # Aardvark alone on page 1
    for query in ("page=2", "q=93-2222222"):
        html = client.get(f"/operator/?{query}").get_data(as_text=True)
        alert = html[html.index('id="shared-ein"') : html.index("</div>", html.index('id="shared-ein"'))]
        assert "1 EIN on this page used by more than one organization" in alert
        assert "93-2222222" in alert


def test_an_empty_sign_up_gets_one_error_per_field(app, client):
    response = submit(client, "/sign-up", {"full_name": "", "email": "", "password": ""})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = html[html.index('id="error-summary"') : html.index("</ul>", html.index('id="error-summary"'))]
    links = re.findall(r'href="#([a-z_]+)"', summary)
    assert sorted(links) == sorted(set(links)) and "password" in links
    assert "Enter a password" in summary


def test_the_next_step_keeps_the_task_title_as_written(app):
    """Proper nouns stay as written: "OneHealthPort", never "onehealthport"."""
    admin_with_org(app, "ada@willow.example.org", org_name="Willow", roles=("admin", "signer"))
    client = app.test_client()
    assert sign_in(client, "ada@willow.example.org").status_code == 302
    html = client.get("/tasks").get_data(as_text=True)
    heading = re.search(r'id="next-step-heading">([^<]*)<', html).group(1)
    assert heading == "Your next step: Connect your organization to OneHealthPort"
