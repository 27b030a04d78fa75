"""Connecting an organization to OneHealthPort: the whole OpenID Connect exchange against the
real provider (oidc-provider), driven over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Organization
from cqmr_wizard.tasks.cli import differences
from cqmr_wizard.tasks.projection import rebuild

from .builders import add_member, make_organization, make_user
from .helpers import csrf_from, page_text, sign_in, task_status
from .sso_support import (
    CONNECT_PAGE,
    CONNECT_START,
    audit_events,
    back_to_wizard,
    connect,
    identities,
    membership_org,
    organization,
    query,
    signed_in_admin,
    signed_in_user,
    start,
)


@pytest.fixture
def app(app_factory, idp):
    return app_factory(**idp.app_config())


def test_admin_connects_the_organization(app, idp):
    ohp_org = idp.add_organization(name="Willamette Valley Clinic")
    account = idp.add_account(organization=ohp_org, name="Alice Admin")
    client, user_id, org_id = signed_in_admin(app)
    tasks = client.get("/tasks")
    assert task_status(tasks, "onehealthport") == "Not started"

    page = client.get(CONNECT_PAGE)
    assert page.status_code == 200
    assert "Register your organization with OneHealthPort" in page_text(page)

    location = start(client)
    assert location.startswith(idp.issuer + "/auth?")
    request = query(location)
    assert request["client_id"] == idp.client_id
    assert request["response_type"] == "code"
    assert request["code_challenge_method"] == "S256" and len(request["code_challenge"]) == 43
    assert request["redirect_uri"] == "http://localhost/sso/callback"
    assert set(request["scope"].split()) == {"openid", "email", "profile", "ohp"}
    assert request["state"] and request["nonce"]
    with client.session_transaction() as session:
        flow = session["sso_flow"]
        assert (flow["state"], flow["nonce"]) == (request["state"], request["nonce"])

    answer = idp.authorize(location, account)
    assert query(answer)["state"] == request["state"] and query(answer)["iss"] == idp.issuer
    response = back_to_wizard(client, answer)
    assert response.status_code == 302 and response.location == "/tasks"

    tasks = client.get("/tasks")
    assert task_status(tasks, "onehealthport") == "Completed"
    assert "connected to OneHealthPort as “Willamette Valley Clinic”" in page_text(tasks)
    org = organization(app, org_id)
    assert (org.ohp_org_id, org.ohp_org_name) == (ohp_org, "Willamette Valley Clinic")
    assert org.ohp_connected_at is not None
    assert identities(app) == [(user_id, idp.issuer, account["sub"])]
    assert audit_events(app, "organization.ohp_connected")[0]["ohp_org_id"] == ohp_org
    assert audit_events(app, "sso.identity_linked")[0]["subject"] == account["sub"]
    assert "Disconnect your OneHealthPort account" in page_text(client.get(CONNECT_PAGE))


def test_someone_without_an_organization_starts_from_the_task_list(app, idp):
    ohp_org = idp.add_organization(name="Cascade Health")
    account = idp.add_account(organization=ohp_org)
    client, user_id = signed_in_user(app, "new@cascade.example")
    tasks = client.get("/tasks")
    assert "Is your organization already registered with OneHealthPort?" in page_text(tasks)
    assert 'href="/onehealthport"' in tasks.get_data(as_text=True)

    response = connect(client, idp, account)
    assert response.status_code == 302 and response.location == "/tasks"
    tasks = client.get("/tasks")
    assert "“Cascade Health” is not onboarded yet" in page_text(tasks)
    assert task_status(tasks, "eligibility") == "Not started"
    assert identities(app) == [(user_id, idp.issuer, account["sub"])]
    assert membership_org(app, user_id) is None
    with app.app_context():
        assert db.session.scalar(select(Organization.id)) is None


def test_a_member_links_their_own_account_without_touching_the_organization(app, idp):
    ohp_org = idp.add_organization()
    account = idp.add_account(organization=ohp_org)
    owner = make_user(app, "owner@alpha.example.org")
    org_id = make_organization(app, owner, ("admin",))
    member = add_member(app, org_id, email="viewer@alpha.example.org", roles=("viewer",)).user_id
    client = app.test_client()
    assert sign_in(client, "viewer@alpha.example.org").status_code == 302
    assert "Your organization's administrator connects the organization" in page_text(
        client.get(CONNECT_PAGE)
    )
    response = connect(client, idp, account)
    assert response.status_code == 302
    assert "You can now sign in with it" in page_text(client.get("/tasks"))
    assert organization(app, org_id).ohp_org_id is None
    assert identities(app) == [(member, idp.issuer, account["sub"])]


def test_an_account_of_another_onehealthport_organization_is_refused(app, idp):
    ours = idp.add_organization(name="Ours")
    theirs = idp.add_organization(name="Theirs")
    first = idp.add_account(organization=ours)
    stranger = idp.add_account(organization=theirs)
    client, user_id, org_id = signed_in_admin(app)
    assert connect(client, idp, first).status_code == 302

    other_client, other_id = signed_in_user(app, "second@alpha.example.org")
    add_member(app, org_id, user_id=other_id, roles=("admin",))
    response = connect(other_client, idp, stranger)
    assert response.status_code == 403
    assert "belongs to a different one" in page_text(response)
    assert organization(app, org_id).ohp_org_id == ours
    assert [i[0] for i in identities(app)] == [user_id]
    assert audit_events(app, "sso.refused")[-1]["reason"] == "other_ohp_organization"


def test_an_administrator_whose_account_has_no_onehealthport_organization_is_refused(app, idp):
    loner = idp.add_account(organization=None)
    client, user_id, org_id = signed_in_admin(app)
    response = connect(client, idp, loner)
    assert response.status_code == 403
    assert "not part of an organization in OneHealthPort" in page_text(response)
    assert organization(app, org_id).ohp_org_id is None
    assert identities(app) == []


def test_two_providers_with_the_same_subject_are_two_identities(app_factory, idp, start_idp):
    other = start_idp()
    assert other.issuer != idp.issuer
    shared_sub = "ohp-same-subject"
    first_account = idp.add_account(organization=idp.add_organization(), sub=shared_sub)
    second_account = other.add_account(organization=other.add_organization(), sub=shared_sub)
    first_app = app_factory(**idp.app_config())
    second_app = app_factory(**other.app_config())

    client_a, user_a, _ = signed_in_admin(first_app, "a@alpha.example.org")
    assert connect(client_a, idp, first_account).status_code == 302
    client_b, user_b, _ = signed_in_admin(second_app, "b@beta.example.org")
    assert connect(client_b, other, second_account).status_code == 302
    assert sorted(identities(first_app)) == sorted(
        [(user_a, idp.issuer, shared_sub), (user_b, other.issuer, shared_sub)]
    )

    # Signing in at the second provider with that subject is the second person, not the first.
    visitor = second_app.test_client()
    answer = other.authorize(start(visitor, "/sign-in/onehealthport", page="/sign-in"), second_account)
    response = back_to_wizard(visitor, answer)
    assert response.status_code == 302
    with visitor.session_transaction() as session:
        assert session["_user_id"] == str(user_b)

    # A deployment counts only links at its own provider: seen from the first app, the second
    # person's link (at the other provider, projected by the second app) is not a link. That is
    # the only difference (with the task it completes); the projection is then rebuilt under the
    # first app's provider, as `flask progress rebuild` would be after a change of provider.
    with first_app.app_context():
        assert list(differences()) == [
            f"member (user) {user_b}: sso_linked is True, live False",
            f"member (user) {user_b}: task ohp_account is COMPLETED, live NOT_STARTED",
        ]
        rebuild()


@pytest.mark.parametrize("path", [CONNECT_PAGE, "/onehealthport/disconnect"])
def test_connect_pages_need_both_factors(app, path):
    client = app.test_client()
    response = client.get(path)
    assert response.status_code == 302 and response.location.startswith("/sign-in")
    make_user(app, "half@alpha.example.org")
    assert sign_in(client, "half@alpha.example.org", second_factor=False).status_code == 302
    response = client.get(path)
    assert response.status_code == 302 and response.location.startswith("/two-step-verification")


def test_starting_needs_both_factors_and_a_form_from_this_site(app):
    client = app.test_client()
    # With a valid token of the visitor's own session the answer is the access policy's, not CSRF's.
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post(CONNECT_START, data={"csrf_token": token})
    assert response.status_code == 302 and response.location.startswith("/sign-in")
    make_user(app, "pat@alpha.example.org")
    assert sign_in(client, "pat@alpha.example.org").status_code == 302
    response = client.post(CONNECT_START)  # no CSRF token
    assert response.status_code == 400
    with client.session_transaction() as session:
        assert "sso_flow" not in session


def test_without_single_sign_on_configured_the_page_says_so(app_factory):
    app = app_factory()
    client, _, _ = signed_in_admin(app)
    page = client.get(CONNECT_PAGE)
    assert "not set up on this service yet" in page_text(page)
    from .helpers import forge

    response = forge(client, CONNECT_START, {}, page=CONNECT_PAGE)
    assert response.status_code == 503
    assert "not set up" in page_text(response)
