"""Provisioning into the CQMR (SCIM 2.0) against the local CQMR's real SCIM service: who is
ready (what the gate computes) is active there, in their organization's group with their
roles; whoever stops being ready is deactivated; calls go through the outbox."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Membership, OutboxMessage

from . import agreement_helpers
from .builders import add_member, link_onehealthport, sign_user_agreement, sign_user_agreements
from .helpers import page_text, sign_in, submit
from .operator_support import operator_client
from .provisioning_support import cqmr_group_members, cqmr_user, ready_organization, roles_of, state_of
from .sso_support import connect


@pytest.fixture
def cqmr(start_local_cqmr):
    return start_local_cqmr(wired=False)


@pytest.fixture
def app(app_factory, cqmr):
    return app_factory(**cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None))


def membership_id(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(Membership.id).where(Membership.user_id == user_id))


def admin_client(app, world) -> object:
    client = app.test_client()
    with app.app_context():
        from cqmr_wizard.models import User

        email = db.session.get(User, world["admin"]).email
    assert sign_in(client, email).status_code == 302
    return client


def test_a_ready_member_is_an_active_user_in_the_organizations_group_with_roles(app, cqmr):
    world = ready_organization(app)
    admin = cqmr_user(cqmr, world["admin"])
    member = cqmr_user(cqmr, world["member"])
    assert admin["userName"] == world["admin_sub"] and admin["active"] is True
    assert roles_of(admin) == {"admin", "signer"}
    assert member["userName"] == world["member_sub"] and member["active"] is True
    assert roles_of(member) == {"submitter"}
    assert member["name"]["formatted"] == "Max Member"
    assert member["emails"][0]["value"].startswith("member-")
    assert cqmr_group_members(cqmr, world["org"]) == {admin["id"], member["id"]}
    state = state_of(app, world["member"])
    assert state.state == "provisioned" and state.cqmr_id == member["id"] and state.desired_active


def test_nobody_is_provisioned_before_they_are_ready(app, cqmr):
    world = ready_organization(app)
    # A third person with everything but their own OneHealthPort link is not ready.
    newcomer = add_member(app, world["org"], email="newcomer@example.org", roles=("viewer",)).user_id
    sign_user_agreements(app, newcomer)
    assert cqmr_user(cqmr, newcomer) is None and state_of(app, newcomer) is None
    link_onehealthport(app, newcomer)
    assert cqmr_user(cqmr, newcomer)["active"] is True


def test_deactivation_and_reactivation_by_the_administrator(app, cqmr):
    world = ready_organization(app)
    client = admin_client(app, world)
    member_page = f"/team/members/{membership_id(app, world['member'])}"
    response = submit(client, f"{member_page}/deactivate", {})
    assert response.status_code == 302
    assert cqmr_user(cqmr, world["member"])["active"] is False
    assert cqmr_user(cqmr, world["admin"])["active"] is True
    member_scim_id = cqmr_user(cqmr, world["member"])["id"]
    assert member_scim_id not in cqmr_group_members(cqmr, world["org"])

    response = submit(client, f"{member_page}/reactivate", {}, page=member_page)
    assert response.status_code == 302
    again = cqmr_user(cqmr, world["member"])
    assert again["active"] is True and again["id"] == member_scim_id
    assert member_scim_id in cqmr_group_members(cqmr, world["org"])


def test_the_deactivating_click_and_its_cqmr_call_share_one_request_id(app, cqmr, capsys):
    world = ready_organization(app)
    client = admin_client(app, world)
    member_page = f"/team/members/{membership_id(app, world['member'])}"
    capsys.readouterr()
    request_id = submit(client, f"{member_page}/deactivate", {}).headers["X-Request-ID"]
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    [click] = [line for line in lines if line["logger"] == "cqmr_wizard.request" and line["method"] == "POST"]
    [call] = [line for line in lines if line["logger"] == "cqmr_wizard.provisioning.scim"]
    assert click["request_id"] == call["request_id"] == request_id
    assert (call["subject_user_id"], call["active"]) == (world["member"], False)
    with app.app_context():
        queued = db.session.scalars(
            select(OutboxMessage.request_id).where(OutboxMessage.kind == "scim")
        ).all()
        recorded = db.session.scalars(
            select(AuditEvent.event_type).where(AuditEvent.request_id == request_id)
        ).all()
    assert queued[-1] == request_id
    assert "membership.deactivated" in recorded


def test_suspension_deactivates_everyone_and_reactivation_brings_them_back(app, cqmr):
    world = ready_organization(app)
    operator = operator_client(app)
    page = f"/operator/organizations/{world['org']}"
    assert submit(operator, f"{page}/suspend", {"reason": "Unpaid fees"}, page=page).status_code == 302
    assert cqmr_user(cqmr, world["admin"])["active"] is False
    assert cqmr_user(cqmr, world["member"])["active"] is False
    data = {"reactivate-csrf_token": None}
    from .helpers import csrf_from

    data["reactivate-csrf_token"] = csrf_from(operator.get(page).get_data(as_text=True))
    assert operator.post(f"{page}/reactivate", data=data).status_code == 302
    assert cqmr_user(cqmr, world["admin"])["active"] is True
    assert cqmr_user(cqmr, world["member"])["active"] is True


def test_a_new_agreement_version_deactivates_until_it_is_signed_again(app, cqmr):
    world = ready_organization(app)
    agreement_helpers.publish_new_version(app, "aua")
    assert cqmr_user(cqmr, world["admin"])["active"] is False
    assert cqmr_user(cqmr, world["member"])["active"] is False
    sign_user_agreement(app, world["member"], "aua")
    assert cqmr_user(cqmr, world["member"])["active"] is True
    assert cqmr_user(cqmr, world["admin"])["active"] is False
    sign_user_agreement(app, world["admin"], "aua")
    assert cqmr_user(cqmr, world["admin"])["active"] is True


def test_when_the_cqmr_is_down_the_change_waits_and_is_delivered_once_it_is_back(
    app_factory, cqmr, monkeypatch
):
    from datetime import timedelta

    app = app_factory(
        **cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None),
        OUTBOX_RETRY_BASE=timedelta(0),
    )
    world = ready_organization(app)
    cqmr.stop()
    client = admin_client(app, world)
    member_page = f"/team/members/{membership_id(app, world['member'])}"
    response = submit(client, f"{member_page}/deactivate", {})
    # The administrator's request is not held up by the CQMR being down.
    assert response.status_code == 302
    state = state_of(app, world["member"])
    assert state.state == "failed" and not state.desired_active
    assert "RequestNetworkException" in state.last_error

    operator = operator_client(app)
    page = page_text(operator.get(f"/operator/organizations/{world['org']}"))
    assert "Failed" in page and "RequestNetworkException" in page

    cqmr.start()  # same port and data: the CQMR is back
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert cqmr_user(cqmr, world["member"])["active"] is False
    assert state_of(app, world["member"]).state == "provisioned"
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "scim")).all()
        deactivations = [m for m in messages if f'"user_id":{world["member"]}' in m.payload]
        assert [m.status for m in deactivations][-1] == "sent"
    # Delivered once: running the deliverer again sends nothing more.
    again = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert "0 sent" in again.output


def test_sync_repairs_a_user_deleted_on_the_cqmr_side(app, cqmr):
    world = ready_organization(app)
    member = cqmr_user(cqmr, world["member"])
    assert cqmr.scim("DELETE", f"Users/{member['id']}").status_code == 204
    stranger = cqmr.scim(
        "POST",
        "Users",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "nobody-here",
            "active": True,
        },
    )
    assert stranger.status_code == 201

    result = app.test_cli_runner().invoke(args=["provisioning", "sync"])
    assert result.exit_code == 0, result.output
    assert f"user {world['member']} ({world['member_sub']}): created" in result.output
    assert "nobody-here" in result.output and "deactivated" in result.output
    repaired = cqmr_user(cqmr, world["member"])
    assert repaired["active"] is True and roles_of(repaired) == {"submitter"}
    assert repaired["id"] in cqmr_group_members(cqmr, world["org"])
    assert cqmr.scim("GET", f"Users/{stranger.json()['id']}").json()["active"] is False

    # Nothing drifted: a second run changes nothing.
    quiet = app.test_cli_runner().invoke(args=["provisioning", "sync"])
    assert quiet.exit_code == 0 and "0 change(s)" in quiet.output


def test_operators_see_each_members_state_and_can_retry(app, cqmr):
    world = ready_organization(app)
    operator = operator_client(app)
    page = f"/operator/organizations/{world['org']}"
    html = operator.get(page).get_data(as_text=True)
    assert html.count('class="provisioning-state">Provisioned<') == 2
    retry = f"{page}/members/{world['member']}/provisioning/retry"
    assert operator.post(retry, data={}).status_code == 400  # no CSRF token
    from .helpers import csrf_from

    token = csrf_from(operator.get(page).get_data(as_text=True))
    response = operator.post(retry, data={f"retry-{world['member']}-csrf_token": token})
    assert response.status_code == 302
    from .sso_support import audit_events

    assert audit_events(app, "provisioning.retried")[-1]["subject_user_id"] == world["member"]
    assert state_of(app, world["member"]).state == "provisioned"
    other_org = operator.post(
        f"/operator/organizations/{world['org'] + 1}/members/{world['member']}/provisioning/retry",
        data={f"retry-{world['member']}-csrf_token": token},
    )
    assert other_org.status_code == 404


def test_linking_ones_own_account_through_the_provider_provisions_at_once(app_factory, idp, cqmr):
    """The last task done through the real OneHealthPort round trip (its link is written in a
    savepoint): the person is in the CQMR when the callback's transaction commits."""
    app = app_factory(
        **idp.app_config(), **cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None)
    )
    ohp_org = idp.add_organization()
    world = ready_organization(app, issuer=idp.issuer, link_people=False, ohp_org_id=ohp_org)
    assert cqmr_user(cqmr, world["admin"]) is None
    client = admin_client(app, world)
    account = idp.add_account(organization=ohp_org)
    assert connect(client, idp, account).status_code == 302
    provisioned = cqmr_user(cqmr, world["admin"])
    assert provisioned["userName"] == account["sub"] and provisioned["active"] is True
    assert state_of(app, world["admin"]).state == "provisioned"
