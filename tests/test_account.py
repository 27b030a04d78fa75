"""Each person's own OneHealthPort link is a task of their own, reachable from every page that
asks for it, and "Your account" gathers the link, two-step verification and sessions."""

from __future__ import annotations

import re

import pytest

from .builders import add_member, make_organization, make_user
from .helpers import page_text, sign_in, submit, task_status
from .sso_support import back_to_wizard, connect, identities, start
from .team_support import session_count

TASK = "ohp_account"


@pytest.fixture
def app(app_factory, idp):
    return app_factory(**idp.app_config())


def member_of_connected_org(app, idp, email: str = "mia@example.org") -> tuple:
    """A signed-in non-administrator of an organization connected to OneHealthPort."""
    ohp_org = idp.add_organization()
    admin_id = make_user(app, f"admin-{email}")
    org_id = make_organization(app, admin_id, ("admin",), ohp_org_id=ohp_org, ohp_org_name="Test Clinic")
    user_id = add_member(app, org_id, email=email, roles=("submitter",)).user_id
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, user_id, ohp_org


def test_the_task_waits_for_the_organization_then_is_done_by_the_person(app, idp):
    admin = make_user(app, "ada@example.org")
    org_id = make_organization(app, admin, ("admin",))
    client = app.test_client()
    assert sign_in(client, "ada@example.org").status_code == 302
    assert task_status(client.get("/tasks"), TASK) == "Cannot start yet"

    from cqmr_wizard.extensions import db
    from cqmr_wizard.models import Organization

    with app.app_context():
        db.session.get(Organization, org_id).ohp_org_id = "OHP-X"
        db.session.commit()
    tasks = client.get("/tasks")
    assert task_status(tasks, TASK) == "Not started"
    assert 'href="/onehealthport"' in tasks.get_data(as_text=True)


def test_a_member_connects_her_own_account_from_the_task_list(app, idp):
    client, user_id, ohp_org = member_of_connected_org(app, idp)
    tasks = client.get("/tasks")
    assert task_status(tasks, TASK) == "Not started"
    page = client.get("/onehealthport")
    assert "<h1>Connect your OneHealthPort account</h1>" in page.get_data(as_text=True)
    account = idp.add_account(organization=ohp_org, name="Mia Member")
    assert connect(client, idp, account).status_code == 302
    assert (user_id, idp.issuer, account["sub"]) in identities(app)
    assert task_status(client.get("/tasks"), TASK) == "Completed"


def test_the_sign_in_error_for_an_unlinked_account_leads_straight_to_linking_it(app, idp):
    client, user_id, ohp_org = member_of_connected_org(app, idp)
    account = idp.add_account(organization=ohp_org)
    visitor = app.test_client()
    answer = idp.authorize(start(visitor, "/sign-in/onehealthport", page="/sign-in"), account)
    refused = back_to_wizard(visitor, answer)
    assert refused.status_code == 401
    link = re.search(
        r'<a class="usa-button" href="([^"]+)">Connect your OneHealthPort account</a>',
        refused.get_data(as_text=True),
    )
    assert link, page_text(refused)
    # Signed out, the link asks for the password first and comes back to the linking page.
    followed = visitor.get(link.group(1))
    assert followed.status_code == 302 and followed.location == "/sign-in?next=/onehealthport"
    # Signed in, the same link is the page that links it.
    assert connect(client, idp, account).status_code == 302
    assert (user_id, idp.issuer, account["sub"]) in identities(app)


def test_your_account_gathers_the_link_second_factor_and_sessions(app, idp):
    client, user_id, ohp_org = member_of_connected_org(app, idp)
    tasks = client.get("/tasks")
    assert 'href="/account">Your account</a>' in tasks.get_data(as_text=True)
    page = client.get("/account")
    assert page.status_code == 200
    text = page_text(page)
    assert "not connected to OneHealthPort" in text
    html = page.get_data(as_text=True)
    assert 'action="/onehealthport/start"' in html and 'href="/two-step-verification/settings"' in html
    assert 'href="/account/password">Change your password</a>' in html
    assert "<h1>Change your password</h1>" in client.get("/account/password").get_data(as_text=True)

    account = idp.add_account(organization=ohp_org, email="mia@ohp.example")
    answer = idp.authorize(start(client, page="/account"), account)
    assert back_to_wizard(client, answer).status_code == 302
    text = page_text(client.get("/account"))
    assert "connected to the OneHealthPort account mia@ohp.example" in text
    assert 'href="/onehealthport/disconnect"' in client.get("/account").get_data(as_text=True)

    phone = app.test_client()
    assert sign_in(phone, "mia@example.org").status_code == 302
    assert session_count(app, user_id) == 2
    done = submit(client, "/sign-out-everywhere", page="/account")
    assert done.status_code == 302 and done.location == "/sign-in"
    assert session_count(app, user_id) == 0
    assert phone.get("/tasks").status_code == 302
