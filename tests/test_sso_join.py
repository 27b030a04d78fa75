"""An organization already registered under the same OneHealthPort organization: no second
record; the person asks its administrator to join, who approves or declines."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cqmr_wizard.extensions import db
from cqmr_wizard.models import JoinRequest, Membership, MembershipRole, Organization

from .builders import add_member, make_organization, make_user
from .helpers import forge, link_from, page_text, sign_in, submit
from .sso_support import audit_events, connect, membership_org, organization, signed_in_admin, signed_in_user


@pytest.fixture
def app(app_factory, idp):
    return app_factory(**idp.app_config())


@pytest.fixture
def registered(app, idp):
    """An organization connected to OneHealthPort org X by its administrator; returns
    (admin client, admin id, org id, OneHealthPort org id)."""
    ohp_org = idp.add_organization(name="Willamette Valley Clinic")
    admin, admin_id, org_id = signed_in_admin(
        app, "alice@willamette.example", legal_name="Willamette Valley Clinic LLC"
    )
    assert connect(admin, idp, idp.add_account(organization=ohp_org)).status_code == 302
    return admin, admin_id, org_id, ohp_org


def test_a_second_record_for_the_same_organization_becomes_a_join_request(app, idp, registered, mailbox):
    admin, admin_id, org_id, ohp_org = registered
    bob, bob_id, draft_id = signed_in_admin(app, "bob@willamette.example", legal_name="WVC")
    response = connect(bob, idp, idp.add_account(organization=ohp_org, name="Bob"))
    assert response.status_code == 302 and response.location == "/organization/already-registered"
    assert organization(app, draft_id).ohp_org_id is None  # no second record with that id

    offer = bob.get(response.location)
    assert offer.status_code == 200
    assert "Willamette Valley Clinic LLC" in page_text(offer)
    assert "Set aside my draft and ask to join" in page_text(offer)
    asked = submit(bob, "/organization/already-registered", {})
    assert asked.status_code == 302 and asked.location == "/organization/join-request"
    assert "Its administrators have been emailed" in page_text(bob.get(asked.location))
    # The draft is kept, unchanged, without Bob.
    draft = organization(app, draft_id)
    assert draft.legal_name == "WVC" and membership_org(app, bob_id) is None
    assert audit_events(app, "organization.draft_set_aside")[0]["organization_id"] == draft_id

    notice = mailbox.last_to("alice@willamette.example")
    decide_path = link_from(notice, "/organization/join-requests/")
    tasks = admin.get("/tasks")
    assert "1 person asks to join your organization" in page_text(tasks)
    listing = admin.get("/organization/join-requests")
    assert "bob@willamette.example" in page_text(listing)

    no_role = submit(admin, decide_path, {"decision": "approve"})
    assert no_role.status_code == 400 and "Choose a role for this person" in page_text(no_role)
    approved = submit(admin, decide_path, {"decision": "approve", "role": "submitter"})
    assert approved.status_code == 302
    assert membership_org(app, bob_id) == org_id
    with app.app_context():
        roles = db.session.scalars(
            select(MembershipRole.role).join(Membership).where(Membership.user_id == bob_id)
        ).all()
        assert roles == ["submitter"]
        join = db.session.scalar(select(JoinRequest))
        assert (join.status, join.decided_by_id) == ("approved", admin_id)
    assert (
        "approved" in mailbox.last_to("bob@willamette.example")["Subject"]
        or "joined" in mailbox.last_to("bob@willamette.example")["Subject"]
    )
    assert audit_events(app, "join.approved")[0]["role"] == "submitter"
    tasks = bob.get("/tasks")
    assert tasks.status_code == 200 and "Willamette Valley Clinic LLC" in page_text(tasks)
    # Decided once only.
    again = forge(admin, decide_path, {"decision": "decline"}, page=decide_path)
    assert again.status_code == 409


def test_someone_without_an_organization_asks_and_is_declined(app, idp, registered, mailbox):
    admin, _, org_id, ohp_org = registered
    carol, carol_id = signed_in_user(app, "carol@willamette.example")
    response = connect(carol, idp, idp.add_account(organization=ohp_org))
    assert response.location == "/organization/already-registered"
    assert "Ask to join Willamette Valley Clinic LLC" in page_text(carol.get(response.location))
    assert submit(carol, "/organization/already-registered", {}).status_code == 302
    assert "You asked to join" in page_text(carol.get("/tasks"))

    path = link_from(mailbox.last_to("alice@willamette.example"), "/organization/join-requests/")
    assert submit(admin, path, {"decision": "decline"}).status_code == 302
    assert membership_org(app, carol_id) is None
    assert "declined" in mailbox.last_to("carol@willamette.example")["Subject"]
    assert "was declined" in page_text(carol.get("/organization/join-request"))
    assert audit_events(app, "join.declined")[0]["subject_user_id"] == carol_id


def test_a_draft_with_other_members_cannot_be_set_aside(app, idp, registered):
    _, _, org_id, ohp_org = registered
    dan, dan_id, draft_id = signed_in_admin(app, "dan@willamette.example")
    add_member(app, draft_id, email="erin@willamette.example", roles=())
    response = connect(dan, idp, idp.add_account(organization=ohp_org))
    offer = dan.get(response.location)
    assert "cannot be set aside" in page_text(offer)
    refused = forge(dan, "/organization/already-registered", {}, page=response.location)
    assert refused.status_code == 409
    assert membership_org(app, dan_id) == draft_id
    with app.app_context():
        assert db.session.scalar(select(JoinRequest.id)) is None


def test_the_join_page_needs_a_onehealthport_sign_in_first(app, registered):
    client, _ = signed_in_user(app, "frank@example.org")
    response = client.get("/organization/already-registered")
    assert response.status_code == 302 and response.location == "/onehealthport"
    assert forge(client, "/organization/already-registered", {}, page="/tasks").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(JoinRequest.id)) is None


def test_only_the_organizations_administrators_decide(app, idp, registered, mailbox):
    _, _, org_id, ohp_org = registered
    gina, _ = signed_in_user(app, "gina@willamette.example")
    connect(gina, idp, idp.add_account(organization=ohp_org))
    submit(gina, "/organization/already-registered", {})
    path = link_from(mailbox.last_to("alice@willamette.example"), "/organization/join-requests/")

    add_member(app, org_id, email="viewer@willamette.example", roles=("viewer",))
    viewer_client = app.test_client()
    assert sign_in(viewer_client, "viewer@willamette.example").status_code == 302
    assert viewer_client.get(path).status_code == 403
    assert viewer_client.get("/organization/join-requests").status_code == 403

    other_admin, _, _ = signed_in_admin(app, "admin@elsewhere.example")
    assert other_admin.get(path).status_code == 404
    assert app.test_client().get(path).status_code == 302  # signed out: to the sign-in page
    gina_check = gina.get(path)
    assert gina_check.status_code == 302  # not a member of any organization yet
    with app.app_context():
        assert db.session.scalar(select(JoinRequest.status)) == "pending"


def test_a_second_organization_record_cannot_take_a_connected_onehealthport_id(app, registered):
    _, admin_id, org_id, ohp_org = registered
    other = make_user(app, "h@example.org")
    other_org = make_organization(app, other)
    with app.app_context():
        row = db.session.get(Organization, other_org)
        row.ohp_org_id = ohp_org
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_draft_with_open_invitations_cannot_be_set_aside(app, idp, registered):
    from datetime import timedelta

    from cqmr_wizard.models import Invitation
    from cqmr_wizard.models.base import utcnow

    _, _, _, ohp_org = registered
    ivy, ivy_id, draft_id = signed_in_admin(app, "ivy@willamette.example")
    with app.app_context():
        db.session.add(
            Invitation(
                organization_id=draft_id,
                email="jo@willamette.example",
                full_name="Jo",
                role_keys="viewer",
                token_hash="0" * 64,
                expires_at=utcnow() + timedelta(days=1),
            )
        )
        db.session.commit()
    response = connect(ivy, idp, idp.add_account(organization=ohp_org))
    assert "cannot be set aside" in page_text(ivy.get(response.location))
    assert forge(ivy, response.location, {}, page=response.location).status_code == 409
    assert membership_org(app, ivy_id) == draft_id
