"""Offboarding: an operator (or an administrator's request an operator confirms) ends an
organization's participation; every member is deactivated in the CQMR (read back over SCIM),
sign-ins and pages are refused with a page that says why and whom to call, nothing is deleted,
and an operator can reinstate it."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Organization, User
from cqmr_wizard.template_filters import when_text

from .helpers import forge, link_from, page_text, sign_in, submit
from .operator_support import OPERATOR_EMAIL, operator_client
from .provisioning_support import cqmr_user, ready_organization, state_of
from .sso_support import back_to_wizard, connect, signed_in_admin, start
from .team_support import invite

REASON = "The clinic closed on June 30; records go to the Salem Health Alliance."
NAME = "Willamette Valley Clinic"


@pytest.fixture
def cqmr(start_local_cqmr):
    return start_local_cqmr(wired=False)


@pytest.fixture
def app(app_factory, cqmr):
    return app_factory(**cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None))


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def org_page(world) -> str:
    return f"/operator/organizations/{world['org']}"


def active_in_cqmr(cqmr, world) -> tuple[bool, bool]:
    """Whether the administrator and the member are active users in the CQMR (read over SCIM)."""
    return cqmr_user(cqmr, world["admin"])["active"], cqmr_user(cqmr, world["member"])["active"]


def audit_events(app, event_type: str) -> list[dict]:
    """The events of this type, oldest first: who, which organization, whom, and the details."""
    with app.app_context():
        return [
            {
                "actor_id": e.actor_id,
                "organization_id": e.organization_id,
                "subject_user_id": e.subject_user_id,
                "details": json.loads(e.details),
            }
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
            )
        ]


def row_counts(app) -> dict[str, int]:
    """How many rows every table holds."""
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def organization(app, org_id: int) -> Organization:
    with app.app_context():
        org = db.session.get(Organization, org_id)
        db.session.expunge(org)
        return org


def offboard(operator, world, reason: str = REASON):
    return submit(operator, f"{org_page(world)}/offboard", {"reason": reason})


def reinstate(operator, world, reason: str = "Reopened under new ownership"):
    return submit(operator, f"{org_page(world)}/reinstate", {"reason": reason})


def dashboard_ids(operator, **filters) -> list[int]:
    html = operator.get("/operator/", query_string=filters).get_data(as_text=True)
    return [int(m) for m in re.findall(r'<tr id="org-(\d+)"', html)]


def dashboard_row(operator, org_id: int) -> str:
    html = operator.get("/operator/").get_data(as_text=True)
    row = html[html.index(f'id="org-{org_id}"') :]
    return row[: row.index("</tr>")]


def assert_refusal_page(response, app, org: Organization, reason: str = REASON) -> None:
    """The page a member of an offboarded organization gets: 403, why, since when, whom to call."""
    assert response.status_code == 403
    text = page_text(response)
    assert f"{NAME} no longer takes part in the CQMR" in text
    assert f"ended on {when_text(org.offboarded_at)}" in text
    assert reason in text
    assert app.config["PROGRAM_CONTACT_EMAIL"] in text
    assert app.config["PROGRAM_CONTACT_PHONE"] in text
    assert app.config["PROGRAM_CONTACT_HOURS"] in text


def test_an_operator_ends_participation_every_member_loses_access_and_nothing_is_deleted(app, cqmr):
    world = ready_organization(app, NAME)
    admin = signed_in(app, world["admin_email"])  # signed in before it happens
    operator = operator_client(app)
    assert active_in_cqmr(cqmr, world) == (True, True)
    before = row_counts(app)

    confirm = operator.get(f"{org_page(world)}/offboard")
    assert confirm.status_code == 200
    text = page_text(confirm)
    assert f"End {NAME}'s participation in the CQMR" in text
    assert "loses their CQMR access at once" in text and "nothing is deleted" in text
    assert "sign-ins here are refused" in text

    response = offboard(operator, world)
    assert response.status_code == 302 and response.location.endswith(f"{org_page(world)}#participation")
    org = organization(app, world["org"])
    assert org.offboarded_at is not None and org.offboarding_reason == REASON
    with app.app_context():
        operator_id = db.session.scalar(select(User.id).where(User.email == OPERATOR_EMAIL))
    assert org.offboarded_by_id == operator_id
    (event,) = audit_events(app, "operator.organization_offboarded")
    assert event["actor_id"] == operator_id and event["organization_id"] == world["org"]
    assert event["details"] == {"reason": REASON}

    # Every member deprovisioned through the outbox, in that commit.
    assert active_in_cqmr(cqmr, world) == (False, False)
    assert not state_of(app, world["member"]).desired_active

    # The operator's page and the dashboard show it.
    page = page_text(operator.get(org_page(world)))
    assert f"Participation ended on {when_text(org.offboarded_at, time=True)}" in page and REASON in page
    assert "Reinstate this organization" in page
    assert "Participation ended" in dashboard_row(operator, world["org"])
    assert dashboard_ids(operator, participation="offboarded") == [world["org"]]

    # A member's password sign-in is refused with the page, and signs nobody in.
    visitor = app.test_client()
    refused = submit(
        visitor, "/sign-in", {"email": world["member_email"], "password": "correct horse battery"}
    )
    # A wrong password gets the usual answer: only the password's owner learns more.
    assert refused.status_code == 400 and NAME not in page_text(refused)
    refused = sign_in(visitor, world["member_email"])
    assert_refusal_page(refused, app, org)
    assert visitor.get("/tasks").location.startswith("/sign-in")
    failed = audit_events(app, "auth.sign_in_failed")
    assert failed[-1]["subject_user_id"] == world["member"]
    assert failed[-1]["details"] == {"reason": "offboarded", "method": "password"}

    # The administrator already signed in gets the page on every member page, and can sign out.
    assert_refusal_page(admin.get("/tasks"), app, org)
    assert_refusal_page(admin.get("/team"), app, org)
    gate = admin.get("/go-to-cqmr")
    assert_refusal_page(gate, app, org)  # the gate's refusal names the organization
    signed_out = submit(admin, "/sign-out", {}, page="/help")
    assert signed_out.status_code == 302
    assert admin.get("/tasks").location.startswith("/sign-in")

    # Nothing deleted: every table holds at least what it held (audit and outbox grow).
    after = row_counts(app)
    assert {t: n for t, n in after.items() if n < before[t]} == {}
    for table in ("organization", "membership", "user_account", "signature", "provisioning_state"):
        assert after[table] == before[table], table


def test_an_operator_reinstates_the_organization_and_its_members_are_active_again(app, cqmr):
    world = ready_organization(app, NAME)
    operator = operator_client(app)
    assert offboard(operator, world).status_code == 302
    assert active_in_cqmr(cqmr, world) == (False, False)

    page = page_text(operator.get(f"{org_page(world)}/reinstate"))
    assert f"Reinstate {NAME} in the CQMR" in page and REASON in page
    assert reinstate(operator, world).status_code == 302
    assert active_in_cqmr(cqmr, world) == (True, True)
    org = organization(app, world["org"])
    assert (org.offboarded_at, org.offboarding_reason, org.offboarded_by_id) == (None, None, None)
    (event,) = audit_events(app, "operator.organization_reinstated")
    assert event["details"]["reason"] == "Reopened under new ownership"
    assert event["details"]["previous"]["offboarding_reason"] == REASON
    assert len(audit_events(app, "operator.organization_offboarded")) == 1  # the history stays

    assert signed_in(app, world["member_email"]).get("/tasks").status_code == 200
    assert "Participation ended" not in dashboard_row(operator, world["org"])
    assert dashboard_ids(operator, participation="offboarded") == []


def test_an_administrators_request_is_confirmed_by_an_operator(app, cqmr):
    world = ready_organization(app, NAME)
    admin = signed_in(app, world["admin_email"])
    operator = operator_client(app)
    assert "/team/participation" in admin.get("/team").get_data(as_text=True)

    response = submit(admin, "/team/participation", {"reason": "We merged with another clinic"})
    assert response.status_code == 302
    waiting = page_text(admin.get("/team/participation"))
    assert (
        "Your request is waiting for a CQMR operator" in waiting
        and "We merged with another clinic" in waiting
    )
    (event,) = audit_events(app, "organization.offboarding_requested")
    assert event["actor_id"] == world["admin"] and event["details"] == {
        "reason": "We merged with another clinic"
    }
    assert active_in_cqmr(cqmr, world) == (True, True)  # nothing changes until an operator confirms

    page = page_text(operator.get(org_page(world)))
    assert "Its administrator asked to end its participation" in page
    assert "Ada Admin asked on" in page and "We merged with another clinic" in page
    assert "Offboarding requested" in dashboard_row(operator, world["org"])
    assert dashboard_ids(operator, participation="offboarding_requested") == [world["org"]]

    confirm = page_text(operator.get(f"{org_page(world)}/offboard"))
    assert "The administrator's request" in confirm and "This answers the administrator's request" in confirm
    assert offboard(operator, world, "Confirmed with the administrator by phone").status_code == 302
    assert active_in_cqmr(cqmr, world) == (False, False)
    (event,) = audit_events(app, "operator.organization_offboarded")
    assert event["details"]["reason"] == "Confirmed with the administrator by phone"
    assert event["details"]["answers_request"]["requested_by_id"] == world["admin"]
    assert event["details"]["answers_request"]["request_reason"] == "We merged with another clinic"
    assert dashboard_ids(operator, participation="offboarding_requested") == []
    org = organization(app, world["org"])
    assert_refusal_page(
        admin.get("/team/participation"), app, org, "Confirmed with the administrator by phone"
    )


def test_an_operator_declines_a_request_and_the_administrator_sees_why(app, cqmr):
    world = ready_organization(app, NAME)
    admin = signed_in(app, world["admin_email"])
    operator = operator_client(app)
    assert submit(admin, "/team/participation", {"reason": "Too much paperwork"}).status_code == 302

    page = page_text(operator.get(f"{org_page(world)}/offboarding-request/decline"))
    assert "Decline the request to end" in page and "Too much paperwork" in page
    declined = submit(
        operator,
        f"{org_page(world)}/offboarding-request/decline",
        {"reason": "Your agreement runs to December; call us first"},
    )
    assert declined.status_code == 302
    org = organization(app, world["org"])
    assert org.offboarding_requested_at is None and org.offboarded_at is None
    (event,) = audit_events(app, "operator.offboarding_declined")
    assert event["details"]["reason"] == "Your agreement runs to December; call us first"
    assert event["details"]["request"]["request_reason"] == "Too much paperwork"
    assert active_in_cqmr(cqmr, world) == (True, True)

    text = page_text(admin.get("/team/participation"))
    assert "A CQMR operator declined your last request" in text
    assert "Your agreement runs to December; call us first" in text
    assert "Its administrator asked" not in page_text(operator.get(org_page(world)))


def test_an_administrator_withdraws_their_request(app):
    world = ready_organization(app, NAME)
    admin = signed_in(app, world["admin_email"])
    operator = operator_client(app)
    assert submit(admin, "/team/participation", {"reason": "Closing"}).status_code == 302
    response = submit(admin, "/team/participation/withdraw", {}, page="/team/participation")
    assert response.status_code == 302
    assert organization(app, world["org"]).offboarding_requested_at is None
    (event,) = audit_events(app, "organization.offboarding_withdrawn")
    assert event["actor_id"] == world["admin"] and event["details"]["request_reason"] == "Closing"
    assert "Its administrator asked" not in page_text(operator.get(org_page(world)))
    text = page_text(admin.get("/team/participation"))
    assert "waiting" not in text and "declined" not in text
    # Nothing left to confirm or decline: the operator's step sends them back to the page.
    assert operator.get(f"{org_page(world)}/offboarding-request/decline").status_code == 302


def test_reasons_are_required(app):
    world = ready_organization(app, NAME)
    admin = signed_in(app, world["admin_email"])
    operator = operator_client(app)
    response = offboard(operator, world, "   ")
    assert response.status_code == 400
    assert "Enter the reason the organization's participation ends" in page_text(response)
    assert organization(app, world["org"]).offboarded_at is None
    response = submit(admin, "/team/participation", {"reason": ""})
    assert response.status_code == 400
    assert "Enter why your organization's participation should end" in page_text(response)
    assert organization(app, world["org"]).offboarding_requested_at is None


def test_only_an_administrator_asks_and_only_an_operator_ends_participation(app):
    world = ready_organization(app, NAME)
    member = signed_in(app, world["member_email"])
    admin = signed_in(app, world["admin_email"])
    assert member.get("/team/participation").status_code == 403
    forged = forge(member, "/team/participation", {"reason": "Not mine to ask"}, page="/tasks")
    assert forged.status_code == 403
    assert admin.get(f"{org_page(world)}/offboard").status_code == 403
    forged = forge(admin, f"{org_page(world)}/offboard", {"reason": "Ending it myself"}, page="/tasks")
    assert forged.status_code == 403
    org = organization(app, world["org"])
    assert org.offboarded_at is None and org.offboarding_requested_at is None
    assert audit_events(app, "operator.organization_offboarded") == []


def test_an_invitation_to_an_offboarded_organization_cannot_be_used(app, mailbox):
    world = ready_organization(app, NAME)
    admin = signed_in(app, world["admin_email"])
    assert invite(admin, "Ivy New", "ivy@example.org").status_code == 302
    link = link_from(mailbox.last_to("ivy@example.org"), "/invitations/")
    assert offboard(operator_client(app), world).status_code == 302
    visitor = app.test_client()
    assert_refusal_page(visitor.get(link), app, organization(app, world["org"]))
    with app.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "ivy@example.org")) is None


def test_a_onehealthport_sign_in_to_an_offboarded_organization_is_refused(app_factory, idp):
    app = app_factory(**idp.app_config())
    account = idp.add_account(organization=idp.add_organization())
    client, user_id, org_id = signed_in_admin(app, "admin@alpha.example.org", legal_name=NAME)
    assert connect(client, idp, account).status_code == 302
    with app.app_context():
        db.session.execute(
            update(Organization)
            .where(Organization.id == org_id)
            .values(offboarded_at=db.func.now(), offboarding_reason=REASON)
        )
        db.session.commit()
    visitor = app.test_client()
    answer = idp.authorize(start(visitor, "/sign-in/onehealthport", page="/sign-in"), account)
    response = back_to_wizard(visitor, answer)
    assert_refusal_page(response, app, organization(app, org_id))
    assert visitor.get("/tasks").location.startswith("/sign-in")
    failed = audit_events(app, "auth.sign_in_failed")
    assert failed[-1]["subject_user_id"] == user_id
    assert failed[-1]["details"] == {"reason": "offboarded", "method": "oidc"}
