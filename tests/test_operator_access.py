"""Operator pages and actions are for registry operators only; operators are never members."""

import re

import pytest
from sqlalchemy import select

from cqmr_wizard.access import Access, view_access
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Organization, User

from .builders import make_user
from .helpers import PASSWORD, csrf_from, link_from, page_text, sign_in, submit
from .operator_support import make_org, member_client, operator_client, post_with_token

# Every operator route with sample values; `{org}` and `{user}` are filled in per test.
OPERATOR_GETS = [
    "/operator/",
    "/operator/organizations.csv",
    "/operator/organizations/{org}",
    "/operator/organizations/{org}/members/{user}/reset-second-factor",
    "/operator/organizations/{org}/signatures/1/certificate.pdf",
    "/operator/organizations/{org}/uploads/1.pdf",
    "/operator/organizations/{org}/uploads/1/reject",
    "/operator/organizations/{org}/offboard",
    "/operator/organizations/{org}/reinstate",
    "/operator/organizations/{org}/offboarding-request/decline",
    "/operator/organizations/{org}/agreements/{kind}/extend",
    "/operator/organizations/{org}/access-reviews.csv",
    "/operator/audit",
    "/operator/audit.csv",
    "/operator/outbox",
    "/operator/training",
    "/operator/training/1/file",
]
OPERATOR_POSTS = [
    "/operator/organizations/{org}/suspend",
    "/operator/organizations/{org}/reactivate",
    "/operator/organizations/{org}/offboard",
    "/operator/organizations/{org}/reinstate",
    "/operator/organizations/{org}/offboarding-request/decline",
    "/operator/organizations/{org}/members/{user}/reset-second-factor",
    "/operator/organizations/{org}/members/{user}/provisioning/retry",
    "/operator/organizations/{org}/uploads/1/verify",
    "/operator/organizations/{org}/uploads/1/reject",
    "/operator/organizations/{org}/agreements/{kind}/extend",
    "/operator/training",
    "/operator/training/1/withdraw",
    "/operator/outbox/1/retry",
]


def test_every_operator_route_is_declared_operator_only(app):
    with app.test_request_context():
        endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/operator")}
        assert endpoints, "no operator routes"
        assert {e: view_access(e) for e in endpoints} == {e: Access.OPERATOR for e in endpoints}
    listed = {
        re.sub(r"\{\w+\}|\d+", "x", u).replace("x.pdf", "certificate.pdf")
        for u in OPERATOR_GETS + OPERATOR_POSTS
    }
    routes = {
        re.sub(r"<[^>]+>", "x", r.rule).replace("x.pdf", "certificate.pdf")
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/operator")
    }
    # Each route is exercised below (the signature document route stands for both kinds).
    assert routes <= listed | {"/operator/organizations/x/signatures/x/certificate.pdf"}


@pytest.fixture
def world(app):
    org_id = make_org(app, "Willamette Clinic")
    admin, admin_id = member_client(app, "ada@willamette.example", org_id, ("admin", "signer"))
    return org_id, admin, admin_id


def test_anonymous_visitors_are_sent_to_sign_in(app, client, world):
    org_id, _, user_id = world
    for url in OPERATOR_GETS:
        response = client.get(url.format(org=org_id, user=user_id, kind="opa"))
        assert response.status_code == 302, url
        assert response.location.startswith("/sign-in"), url
    # A valid token of the visitor's own session, so that the answer is the access policy's, not CSRF's.
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    for url in OPERATOR_POSTS:
        response = client.post(url.format(org=org_id, user=user_id, kind="opa"), data={"csrf_token": token})
        assert response.status_code == 302, url
        assert response.location.startswith("/sign-in"), url


def test_members_and_administrators_are_refused(app, world):
    org_id, admin, admin_id = world
    viewer, _ = member_client(app, "vic@willamette.example", org_id, ("viewer",))
    make_user(app, "nora@nowhere.example")  # signed in, no organization yet
    newcomer = app.test_client()
    assert sign_in(newcomer, "nora@nowhere.example").status_code == 302
    for client in (admin, viewer, newcomer):
        for url in OPERATOR_GETS:
            assert client.get(url.format(org=org_id, user=admin_id, kind="opa")).status_code == 403, url
        for url in OPERATOR_POSTS:
            response = post_with_token(
                client, url.format(org=org_id, user=admin_id, kind="opa"), {"reason": "x", "code": "123456"}
            )
            assert response.status_code == 403, url
    with app.app_context():
        org = db.session.get(Organization, org_id)
        assert org.suspended_at is None and org.offboarded_at is None
        events = db.session.scalars(select(AuditEvent.event_type)).all()
        assert not [e for e in events if e.startswith(("operator.", "training.", "mfa.reset"))]


def test_a_password_alone_does_not_open_the_console(app):
    from .operator_support import make_operator

    make_operator(app, "otto@cqmr.example.org")
    client = app.test_client()
    response = sign_in(client, "otto@cqmr.example.org", second_factor=False)
    assert response.status_code == 302
    response = client.get("/operator/")
    assert response.status_code == 302
    assert "two-step-verification" in response.location


def test_operators_are_sent_to_the_console_and_cannot_act_as_members(app, world):
    org_id, _, _ = world
    client = operator_client(app)
    response = client.get("/tasks")
    assert response.status_code == 302 and response.location.endswith("/operator/")
    assert client.get("/operator/").status_code == 200
    assert client.get("/onboarding/eligibility").status_code == 403
    response = post_with_token(
        client, "/onboarding/eligibility", {"eligibility": "covered_entity"}, token_page="/operator/"
    )
    assert response.status_code == 403
    for url in ("/onboarding/details", "/training", "/team"):
        assert client.get(url).status_code == 403, url
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Organization.id))) == 1


def test_there_is_no_operator_until_one_is_created(app, client):
    response = submit(
        client, "/sign-up", {"full_name": "Eve Ops", "email": "eve@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(User).where(User.is_operator)).all() == []


def test_flask_operators_create_prints_a_set_password_link_when_mail_is_the_outbox(app_factory, tmp_path):
    app = app_factory(MAIL_SERVER=None)
    result = app.test_cli_runner().invoke(
        args=["operators", "create", "Olive@CQMR.example.org", "--name", "Olive Operator"]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"https?://[^/\s]+(/reset-password/\S+)", result.output).group(1)
    assert list((tmp_path / "outbox").glob("*.eml")), "the mail is in the outbox too"
    client = app.test_client()
    response = submit(
        client,
        link,
        {"password": "a new operator passphrase 99"},
    )
    assert response.status_code == 302, page_text(response)[:400]
    response = sign_in(client, "olive@cqmr.example.org", "a new operator passphrase 99", second_factor=False)
    assert response.status_code == 302
    # The first sign-in asks for an authenticator before anything else.
    assert "two-step-verification" in client.get("/operator/").location
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "Olive@CQMR.example.org"))
        assert user.is_operator and user.email_verified
        assert (
            db.session.scalar(
                select(AuditEvent).where(AuditEvent.event_type == "operator.created")
            ).subject_user_id
            == user.id
        )
    again = app.test_cli_runner().invoke(
        args=["operators", "create", "olive@cqmr.example.org", "--name", "Someone Else"]
    )
    assert again.exit_code != 0 and "already exists" in again.output


def test_flask_operators_create_mails_the_link_over_smtp(app, mailbox):
    result = app.test_cli_runner().invoke(
        args=["operators", "create", "owen@cqmr.example.org", "--name", "Owen Operator"]
    )
    assert result.exit_code == 0, result.output
    assert "/reset-password/" not in result.output
    assert link_from(mailbox.last_to("owen@cqmr.example.org"), "/reset-password/")
    listing = app.test_cli_runner().invoke(args=["operators", "list"])
    assert "owen@cqmr.example.org" in listing.output and "password not yet set" in listing.output
    revoked = app.test_cli_runner().invoke(args=["operators", "revoke", "owen@cqmr.example.org"])
    assert revoked.exit_code == 0
    with app.app_context():
        assert not db.session.scalar(select(User).where(User.email == "owen@cqmr.example.org")).is_operator


def test_an_existing_member_cannot_be_made_an_operator(app):
    make_user(app, "ada@willamette.example")
    result = app.test_cli_runner().invoke(
        args=["operators", "create", "ada@willamette.example", "--name", "Ada"]
    )
    assert result.exit_code != 0
    with app.app_context():
        assert not db.session.scalar(select(User.is_operator).where(User.email == "ada@willamette.example"))
