"""The organization's details: one question per page, each answer saved as it is given."""

import json
from html import unescape

import pytest
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Organization

from .builders import make_organization, make_user
from .helpers import page_text, sign_in, submit, task_status

BASE = "/onboarding/details"
ANSWERS = {
    "legal-name": {"legal_name": "Willamette Valley Clinic"},
    "type": {"organization_type": "clinic"},
    "identifiers": {"tax_id": "931234567", "npi": "1234567893"},
    "address": {
        "address_line1": "500 Summer St NE",
        "address_line2": "",
        "city": "Salem",
        "state": "OR",
        "postal_code": "97301",
    },
    "phone": {"phone": "503.555.0100"},
}


@pytest.fixture
def admin(app, client):
    user_id = make_user(app)
    org_id = make_organization(app, user_id)
    sign_in(client)
    return org_id


def organization(app, org_id) -> Organization:
    with app.app_context():
        return db.session.get(Organization, org_id)


def answer_all(client) -> None:
    for slug, data in ANSWERS.items():
        assert submit(client, f"{BASE}/{slug}", data).status_code == 302


def test_pages_follow_one_another_and_answers_are_stored_normalised(app, client, admin):
    assert client.get(BASE).location == f"{BASE}/legal-name"
    expected_next = ["type", "identifiers", "address", "phone", "check"]
    for (slug, data), following in zip(ANSWERS.items(), expected_next, strict=True):
        response = submit(client, f"{BASE}/{slug}", data)
        assert response.status_code == 302, page_text(response)
        assert response.location == f"{BASE}/{following}"
    org = organization(app, admin)
    assert (org.legal_name, org.organization_type, org.tax_id, org.npi) == (
        "Willamette Valley Clinic",
        "clinic",
        "93-1234567",
        "1234567893",
    )
    assert (org.address_line1, org.address_line2, org.city, org.state, org.postal_code) == (
        "500 Summer St NE",
        None,
        "Salem",
        "OR",
        "97301",
    )
    assert org.phone == "(503) 555-0100"
    assert client.get(BASE).location == f"{BASE}/check"


def test_each_answer_is_audited_with_old_and_new_values(app, client, admin):
    submit(client, f"{BASE}/legal-name", {"legal_name": "  First Name  "})
    submit(client, f"{BASE}/legal-name", {"legal_name": "Second Name"})
    submit(client, f"{BASE}/legal-name", {"legal_name": "Second Name"})  # no change, no event
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.event_type == "onboarding.answer_saved")
            .order_by(AuditEvent.id)
        ).all()
    assert [json.loads(e.details)["changes"]["legal_name"] for e in events] == [
        {"old": None, "new": "First Name"},
        {"old": "First Name", "new": "Second Name"},
    ]
    assert all(e.organization_id == admin for e in events)


def test_save_and_come_back_later_resumes_at_the_first_unanswered_question(app, client, admin):
    submit(client, f"{BASE}/legal-name", ANSWERS["legal-name"])
    # "Save and come back later" on a blank page saves nothing and goes to the task list.
    assert submit(client, f"{BASE}/type", {"save_and_return": "1"}).location == "/tasks"
    assert task_status(client.get("/tasks"), "details") == "In progress"
    assert client.get(BASE).location == f"{BASE}/type"
    # With an answer it saves what is on the page, then goes to the task list.
    response = submit(client, f"{BASE}/type", {**ANSWERS["type"], "save_and_return": "1"})
    assert response.location == "/tasks"
    assert client.get(BASE).location == f"{BASE}/identifiers"
    # The saved answer is filled in when the page is visited again.
    assert 'value="Willamette Valley Clinic"' in client.get(f"{BASE}/legal-name").get_data(as_text=True)


@pytest.mark.parametrize(
    "slug, data, field, message",
    [
        ("address", {**ANSWERS["address"], "postal_code": ""}, "postal_code", "Enter the ZIP code"),
        ("phone", {"phone": ""}, "phone", "Enter a phone number"),
        ("identifiers", {"tax_id": " "}, "tax_id", "Enter your organization's EIN"),
    ],
)
def test_an_empty_answer_gets_one_error_not_two(app, client, admin, slug, data, field, message):
    response = submit(client, f"{BASE}/{slug}", data)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    summary = html[html.index('id="error-summary"') : html.index("</ul>", html.index('id="error-summary"'))]
    assert summary.count("<li>") == 1
    assert f'href="#{field}">{message}</a>' in summary
    assert html.count('class="usa-error-message"') == 1


def test_the_state_list_names_every_state_territory_and_military_post(app, client, admin):
    html = unescape(client.get(f"{BASE}/address").get_data(as_text=True))
    for option in (
        "OR – Oregon",
        "AA – Armed Forces Americas",
        "AE – Armed Forces Europe",
        "AP – Armed Forces Pacific",
    ):
        assert option in html
    data = {**ANSWERS["address"], "state": "AE", "postal_code": "09001"}
    assert submit(client, f"{BASE}/address", data).status_code == 302
    assert organization(app, admin).state == "AE"


@pytest.mark.parametrize(
    "slug, data, field, message",
    [
        ("legal-name", {"legal_name": "   "}, "legal_name", "Enter your organization's legal name"),
        ("legal-name", {"legal_name": "x" * 201}, "legal_name", "Legal name must be 200 characters or fewer"),
        ("type", {}, "organization_type-0", "Select the type of organization"),
        (
            "type",
            {"organization_type": "spaceship"},
            "organization_type-0",
            "Select the type of organization",
        ),
        ("identifiers", {"tax_id": ""}, "tax_id", "Enter your organization's EIN"),
        ("identifiers", {"tax_id": "07-1234567"}, "tax_id", "Enter the EIN as 9 digits, like 93-1234567"),
        (
            "identifiers",
            {"tax_id": "93-1234567", "npi": "1234567890"},
            "npi",
            "This is not a valid NPI. Copy your organization's 10-digit NPI from the NPPES NPI Registry",
        ),
        ("address", {**ANSWERS["address"], "address_line1": ""}, "address_line1", "Enter address line 1"),
        (
            "address",
            {**ANSWERS["address"], "address_line2": "y" * 201},
            "address_line2",
            "Address line 2 must be 200 characters or fewer",
        ),
        (
            "address",
            {**ANSWERS["address"], "city": "c" * 101},
            "city",
            "City must be 100 characters or fewer",
        ),
        ("address", {**ANSWERS["address"], "state": ""}, "state", "Select the state"),
        ("address", {**ANSWERS["address"], "state": "XX"}, "state", "Select the state"),
        (
            "address",
            {**ANSWERS["address"], "postal_code": "9730"},
            "postal_code",
            "Enter a ZIP code like 97301",
        ),
        ("phone", {"phone": "555-0100"}, "phone", "Enter a US phone number, like 503-555-0100"),
    ],
)
def test_bad_answers_are_explained_and_change_nothing(app, client, admin, slug, data, field, message):
    response = submit(client, f"{BASE}/{slug}", data)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    assert "<title>Error: " in html
    assert f'<a class="usa-link" href="#{field}">{message}' in html
    assert 'aria-invalid="true"' in html or field.endswith("-0")
    org = organization(app, admin)
    assert (
        org.legal_name,
        org.organization_type,
        org.tax_id,
        org.npi,
        org.address_line1,
        org.state,
        org.postal_code,
        org.phone,
    ) == (None,) * 8


def test_npi_is_optional(app, client, admin):
    response = submit(client, f"{BASE}/identifiers", {"tax_id": "93-1234567", "npi": "  "})
    assert response.status_code == 302
    assert organization(app, admin).npi is None


def test_a_long_extension_is_stored(app, client, admin):
    response = submit(client, f"{BASE}/phone", {"phone": "+1 (503) 555-0100 extension 123456"})
    assert response.status_code == 302
    assert organization(app, admin).phone == "(503) 555-0100 x123456"


def test_check_page_lists_answers_and_confirms_them(app, client, admin):
    answer_all(client)
    check = client.get(f"{BASE}/check")
    text = page_text(check)
    for shown in (
        "HIPAA covered entity",
        "Willamette Valley Clinic",
        "Clinic or physician practice",
        "EIN 93-1234567, NPI 1234567893",
        "500 Summer St NE, Salem, OR, 97301",
        "(503) 555-0100",
    ):
        assert shown in text
    assert 'href="/onboarding/details/phone?return=check"' in check.get_data(as_text=True)
    assert task_status(client.get("/tasks"), "details") == "In progress"

    response = submit(client, f"{BASE}/check")
    assert response.status_code == 302 and response.location == "/tasks"
    tasks = client.get("/tasks")
    assert task_status(tasks, "details") == "Completed"
    assert "Onboarding for Willamette Valley Clinic" in page_text(tasks)
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent.event_type).order_by(AuditEvent.id.desc()).limit(1))
            == "onboarding.details_confirmed"
        )


def test_changing_from_the_check_page_returns_to_it_and_asks_for_confirmation_again(app, client, admin):
    answer_all(client)
    submit(client, f"{BASE}/check")
    change = f"{BASE}/phone?return=check"
    assert f'href="{BASE}/check">&larr; Back' in client.get(change).get_data(as_text=True)
    # Saving the same answer keeps the confirmation.
    assert submit(client, change, {"phone": "(503) 555-0100"}).location == f"{BASE}/check"
    assert task_status(client.get("/tasks"), "details") == "Completed"
    assert submit(client, change, {"phone": "503-555-0199"}).location == f"{BASE}/check"
    assert task_status(client.get("/tasks"), "details") == "In progress"
    assert organization(app, admin).details_confirmed_at is None


def test_confirming_before_every_answer_is_given_is_refused(app, client, admin):
    submit(client, f"{BASE}/legal-name", ANSWERS["legal-name"])
    check = client.get(f"{BASE}/check")
    assert (
        "Some questions still need an answer: Type of organization, Tax ID and NPI, Address, Phone number"
        in page_text(check)
    )
    response = submit(client, f"{BASE}/check")
    assert response.status_code == 400
    assert "<title>Error: Check your organization" in response.get_data(as_text=True)
    assert "Answer every question before confirming" in page_text(response)
    assert organization(app, admin).details_confirmed_at is None


def test_unknown_question_page(client, admin):
    assert client.get(f"{BASE}/favourite-colour").status_code == 404


def test_details_need_an_organization_and_an_administrator(app, client):
    make_user(app)
    sign_in(client)
    assert client.get(f"{BASE}/legal-name").location == "/tasks"  # no organization yet
    member = make_user(app, "sam@example.org")
    make_organization(app, member, roles=("submitter",))
    other = app.test_client()
    sign_in(other, "sam@example.org")
    for path in (BASE, f"{BASE}/legal-name", f"{BASE}/check"):
        assert other.get(path).status_code == 403


def test_each_administrator_sees_and_changes_only_their_own_organization(app, client, admin):
    submit(client, f"{BASE}/legal-name", {"legal_name": "Clinic A"})
    other_id = make_user(app, "bo@example.org")
    other_org = make_organization(app, other_id, legal_name="Clinic B")
    other = app.test_client()
    sign_in(other, "bo@example.org")
    assert "Clinic B" in page_text(other.get(f"{BASE}/check"))
    assert "Clinic A" not in page_text(other.get(f"{BASE}/check"))
    submit(other, f"{BASE}/legal-name", {"legal_name": "Clinic B renamed"})
    assert organization(app, admin).legal_name == "Clinic A"
    assert organization(app, other_org).legal_name == "Clinic B renamed"
