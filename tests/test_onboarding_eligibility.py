"""The eligibility question, which creates the organization's onboarding record."""

import json

import pytest
from sqlalchemy import func, select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Membership, Organization, User
from cqmr_wizard.onboarding import services

from .builders import make_organization, make_user
from .helpers import forge, page_text, sign_in, submit, task_status

URL = "/onboarding/eligibility"


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def audit_types(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent.event_type).order_by(AuditEvent.id)).all()


@pytest.fixture
def pat(app, client):
    user_id = make_user(app)
    sign_in(client)
    return user_id


def test_question_page(client, pat):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>Is your organization a HIPAA covered entity or a business associate?" in html
    assert '<h1 class="margin-0 font-heading-xl">Is your organization' in html
    assert 'aria-describedby="eligibility-hint"' in html
    assert html.count('type="radio" name="eligibility"') == 3
    assert " checked" not in html
    assert 'href="/tasks">&larr; Back' in html


@pytest.mark.parametrize("data", [{}, {"eligibility": ""}, {"eligibility": "hospital"}])
def test_an_answer_is_required(app, client, pat, data):
    response = submit(client, URL, data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: Is your organization" in html
    message = "Select whether your organization is a covered entity, a business associate, or neither"
    assert f'<a class="usa-link" href="#eligibility-0">{message}</a>' in html
    assert f'id="eligibility-error" role="alert">{message}' in html
    assert count(app, Organization) == 0


def test_an_eligible_answer_creates_the_organization_with_its_creator_as_administrator(app, client, pat):
    response = submit(client, URL, {"eligibility": "business_associate"})
    assert response.status_code == 302 and response.location == "/onboarding/details"
    assert client.get(response.location).location == "/onboarding/details/legal-name"
    with app.app_context():
        org = db.session.scalar(select(Organization))
        membership = db.session.scalar(select(Membership))
        assert org.eligibility == "business_associate" and org.created_by_id == pat
        assert membership.user_id == pat and membership.roles == {"admin"}
    assert audit_types(app)[-2:] == ["organization.created", "onboarding.answer_saved"]
    tasks = client.get("/tasks")
    assert task_status(tasks, "eligibility") == "Completed"
    assert task_status(tasks, "details") == "Not started"
    # The saved answer is shown when the question is visited again.
    assert 'value="business_associate" checked' in client.get(URL).get_data(as_text=True)


def test_neither_creates_nothing(app, client, pat):
    response = submit(client, URL, {"eligibility": "neither"})
    assert response.status_code == 200
    assert "Your organization cannot use the CQMR" in page_text(response)
    assert "No onboarding record has been created" in page_text(response)
    assert count(app, Organization) == 0
    tasks = client.get("/tasks")
    assert task_status(tasks, "eligibility") == "Not started"
    assert task_status(tasks, "details") == "Cannot start yet"
    html = tasks.get_data(as_text=True)
    assert 'href="/onboarding/eligibility"' in html
    assert 'href="/onboarding/details"' not in html  # no link to a task that cannot start


def test_the_administrator_can_change_the_answer(app, client, pat):
    submit(client, URL, {"eligibility": "covered_entity"})
    submit(client, URL, {"eligibility": "business_associate"})
    with app.app_context():
        assert db.session.scalar(select(Organization.eligibility)) == "business_associate"
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert json.loads(event.details) == {
        "task": "eligibility",
        "field": "eligibility",
        "old": "covered_entity",
        "new": "business_associate",
    }
    assert count(app, Organization) == 1

    # Saving the same answer again records nothing.
    before = len(audit_types(app))
    submit(client, URL, {"eligibility": "business_associate"})
    assert len(audit_types(app)) == before

    # "Neither" afterwards explains, and leaves the record as it was.
    response = submit(client, URL, {"eligibility": "neither"})
    assert "Nothing has been changed" in page_text(response)
    with app.app_context():
        assert db.session.scalar(select(Organization.eligibility)) == "business_associate"


def test_other_members_cannot_answer(app, client):
    user_id = make_user(app)
    make_organization(app, user_id, roles=("signer", "submitter"))
    sign_in(client)
    assert client.get(URL).status_code == 403
    response = forge(client, URL, {"eligibility": "business_associate"}, page="/tasks")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Organization.eligibility)) == "covered_entity"
    tasks = client.get("/tasks")
    assert "Your organization's administrator completes these tasks" in page_text(tasks)
    assert 'href="/onboarding/eligibility"' not in tasks.get_data(as_text=True)


def test_a_double_submitted_first_answer_creates_one_organization(app):
    """Two requests can both see "no organization yet"; the second must not fail or duplicate."""
    user_id = make_user(app)
    with app.app_context():
        user = db.session.get(User, user_id)
        first = services.answer_eligibility(user, None, "covered_entity")
        second = services.answer_eligibility(user, None, "covered_entity")
        assert first.id == second.id
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 1
        assert db.session.scalar(select(func.count()).select_from(Membership)) == 1
