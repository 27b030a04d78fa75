"""Live organizations (issue #21): an organization goes live once, and from then on nothing a
colleague does (inviting someone, an invitation expiring, the signer leaving) locks the others
out of the CQMR. Read back as people see it: the task list, the gate, and the local CQMR over SCIM."""

from __future__ import annotations

import pytest

from cqmr_wizard.models.base import utcnow
from cqmr_wizard.template_filters import when_text

from .agreement_helpers import complete_organization, publish_new_version
from .builders import add_member, link_onehealthport, sign_organization_agreement, sign_user_agreements
from .helpers import PASSWORD, link_from, page_text, submit, task_status
from .live_support import (
    GATE,
    ORGANIZATION_TASKS,
    OWN_TASKS,
    PAST_EXPIRY,
    all_active_in_group,
    asks_for_a_signer,
    clients_of,
    cqmr_settings,
    deliver,
    enters_cqmr,
    live_organization,
    live_since,
    missing_keys,
    open_invitation,
    scim_record,
    scim_records,
    went_live,
)
from .mfa_helpers import ENROLL, enroll_through_pages
from .operator_support import count_queries, operator_client
from .provisioning_support import cqmr_group_members, membership_of
from .scale_support import seed_members
from .team_support import admin_with_org, events, invite, signed_in, user_id_of

DOMAIN = "willow.example.org"
ADA = f"ada@{DOMAIN}"
NEWCOMER = f"ivy@{DOMAIN}"


@pytest.fixture
def cqmr(start_local_cqmr):
    return start_local_cqmr(wired=False)


@pytest.fixture
def live_app(app_factory, cqmr):
    return app_factory(**cqmr_settings(cqmr))


def test_a_newcomer_onboards_alone_and_nobody_elses_cqmr_access_changes(live_app, cqmr, mailbox, clock):
    app = live_app
    org_id, people = live_organization(app, DOMAIN)
    everyone = list(people.values())
    before = scim_records(cqmr, everyone)
    all_active_in_group(cqmr, org_id, before)

    clients = clients_of(app, people)
    assert invite(clients[ADA], "Ivy Newcomer", NEWCOMER).status_code == 302
    deliver(app)
    # The three stay in the CQMR exactly as they were: nothing was written about them.
    assert scim_records(cqmr, everyone) == before
    for email, client in clients.items():
        enters_cqmr(client, cqmr)
        tasks = client.get("/tasks")
        assert task_status(tasks, "team") == "Completed", email
    assert "Invitations waiting: 1" in page_text(clients[ADA].get("/tasks"))

    # The newcomer accepts: their own tasks are all that is left to them.
    guest = app.test_client()
    link = link_from(mailbox.last_to(NEWCOMER), "/invitations/")
    accepted = submit(guest, link, {"full_name": "Ivy Newcomer", "password": PASSWORD})
    assert accepted.status_code == 302
    ivy = user_id_of(app, NEWCOMER)
    # Two-step verification comes first: the task list waits for it.
    assert guest.get("/tasks").location == ENROLL
    assert scim_record(cqmr, ivy) is None
    enroll_through_pages(guest, app, NEWCOMER)
    tasks = guest.get("/tasks")
    assert {key: task_status(tasks, key) for key in ORGANIZATION_TASKS} == dict.fromkeys(
        ORGANIZATION_TASKS, "Completed"
    )
    assert {key: task_status(tasks, key) for key in OWN_TASKS} == {
        "mfa": "Completed",
        "ohp_account": "Not started",
        "user_agreements": "Not started",
    }
    assert "Invitations waiting" not in page_text(tasks)
    refused = guest.get(GATE)
    assert refused.status_code == 403 and missing_keys(refused) == {"ohp_account", "user_agreements"}
    assert scim_record(cqmr, ivy) is None
    # Their own OneHealthPort link, then their user agreements: only the last brings them in.
    link_onehealthport(app, ivy)
    assert scim_record(cqmr, ivy) is None
    assert scim_records(cqmr, everyone) == before
    sign_user_agreements(app, ivy)
    deliver(app)
    newcomer = scim_record(cqmr, ivy)
    assert newcomer["active"] is True and newcomer["roles"] == {"viewer"}
    assert newcomer["id"] in cqmr_group_members(cqmr, org_id)
    enters_cqmr(guest, cqmr)
    assert scim_records(cqmr, everyone) == before

    # An invitation that expires changes nobody's access (once the deliverer's clock pass ran).
    assert invite(signed_in(app, ADA), "Zed Late", f"zed@{DOMAIN}").status_code == 302
    deliver(app)
    settled = scim_records(cqmr, [*everyone, ivy])
    clock.advance(PAST_EXPIRY)
    deliver(app)
    assert scim_records(cqmr, [*everyone, ivy]) == settled
    for email in [*people, NEWCOMER]:
        client = signed_in(app, email)  # seven days on, everyone signs in afresh
        enters_cqmr(client, cqmr)
        assert task_status(client.get("/tasks"), "team") == "Completed"


def test_going_live_is_recorded_once_at_the_commit_that_completes_the_last_task(app, mailbox, clock):
    ada, org_id = admin_with_org(app, ADA, name="Ada Admin", org_name="Willow", agreements=True)
    admin = signed_in(app, ADA)
    assert invite(admin, "Ivy Newcomer", NEWCOMER).status_code == 302
    complete_organization(app, org_id, ada)
    # Everything but the team task (an invitation is open): still onboarding.
    assert task_status(admin.get("/tasks"), "team") == "In progress"
    assert went_live(app, org_id) == (None, None) and not events(app, "organization.went_live")

    clock.advance(600)
    started = utcnow()
    revoked = submit(admin, f"/team/invitations/{open_invitation(app, org_id)}/revoke", {})
    assert revoked.status_code == 302
    live_at, projected = went_live(app, org_id)
    assert live_at is not None and started <= live_at <= utcnow()
    assert projected == live_at
    [event] = events(app, "organization.went_live")
    assert event.organization_id == org_id

    # Later commits, even ones that re-open and re-complete a task, never record it again.
    clock.advance(86400)
    assert invite(signed_in(app, ADA), "Zed Late", f"zed@{DOMAIN}").status_code == 302
    add_member(app, org_id, email=f"max@{DOMAIN}", roles=("viewer",), agreements=True, linked=True)
    publish_new_version(app, "opa")
    sign_organization_agreement(app, ada, "opa")
    clock.advance(PAST_EXPIRY)
    deliver(app)
    assert went_live(app, org_id) == (live_at, live_at)
    assert len(events(app, "organization.went_live")) == 1

    day = when_text(live_at)
    shown = live_since(signed_in(app, ADA).get("/tasks"))
    assert shown.startswith("Live") and day in shown, shown
    assert live_since(operator_client(app).get(f"/operator/organizations/{org_id}")) == f"Live since {day}"


def test_deactivating_the_signer_keeps_the_organization_live_until_something_needs_signing(
    live_app, cqmr, mailbox
):
    app = live_app
    org_id, people = live_organization(app, DOMAIN, signer="sam")
    sam = people.pop(f"sam@{DOMAIN}")  # who signed the organization's agreements
    live_at, _ = went_live(app, org_id)
    assert live_at is not None
    stay = scim_records(cqmr, people.values())
    all_active_in_group(cqmr, org_id, stay)
    clients = clients_of(app, people)

    member_page = f"/team/members/{membership_of(app, sam)}"
    assert submit(clients[ADA], f"{member_page}/deactivate", {}).status_code == 302
    deliver(app)
    assert scim_record(cqmr, sam)["active"] is False
    assert scim_records(cqmr, people.values()) == stay
    assert went_live(app, org_id) == (live_at, live_at)
    for client in clients.values():
        enters_cqmr(client, cqmr)
    # The signatures bind the organization: nothing needs signing, so nobody is asked for a signer.
    assert not asks_for_a_signer(clients[ADA].get("/tasks"))

    # A new version of an organization agreement needs signing, and nobody active can sign it.
    publish_new_version(app, "opa")
    assert asks_for_a_signer(clients[ADA].get("/tasks"))
    refused = clients[ADA].get(GATE)
    assert refused.status_code == 403 and asks_for_a_signer(refused)
    assert went_live(app, org_id) == (live_at, live_at)


def test_an_onboarding_organization_goes_live_when_its_last_invitation_expires(
    live_app, cqmr, mailbox, clock
):
    app = live_app
    ada, org_id = admin_with_org(app, ADA, name="Ada Admin", org_name="Willow", agreements=True)
    assert invite(signed_in(app, ADA), "Ivy Newcomer", NEWCOMER).status_code == 302
    complete_organization(app, org_id, ada)
    max_id = add_member(
        app, org_id, email=f"max@{DOMAIN}", roles=("viewer",), agreements=True, linked=True
    ).user_id
    assert went_live(app, org_id) == (None, None)
    assert scim_records(cqmr, [ada, max_id]) == {ada: None, max_id: None}

    clock.advance(PAST_EXPIRY)
    deliver(app)  # the clock pass alone: no `flask provisioning sync`
    live_at, projected = went_live(app, org_id)
    assert live_at is not None and projected == live_at
    assert len(events(app, "organization.went_live")) == 1
    all_active_in_group(cqmr, org_id, scim_records(cqmr, [ada, max_id]))
    admin = signed_in(app, ADA)
    assert task_status(admin.get("/tasks"), "team") == "Completed"
    enters_cqmr(admin, cqmr)


def _statements(app, client, path: str) -> int:
    client.get(path)  # warm: the session row is written on the first request after sign-in
    with count_queries(app) as counter:
        response = client.get(path)
    assert response.status_code == 200, path
    return counter["n"]


def test_the_task_list_and_the_operators_page_cost_the_same_for_2_and_20_members(app, mailbox):
    operator = operator_client(app)
    costs = {}
    for size in (2, 20):
        domain = f"size{size}.example.org"
        org_id, _ = live_organization(app, domain, ("max",))
        seed_members(app, org_id, size - 2, domain)  # the rest in every state, in one commit
        admin = signed_in(app, f"ada@{domain}")
        assert invite(admin, "Ivy Newcomer", f"ivy@{domain}").status_code == 302
        assert went_live(app, org_id)[0] is not None
        assert "Invitations waiting: 1" in page_text(admin.get("/tasks"))
        costs[size] = (
            _statements(app, admin, "/tasks"),
            _statements(app, operator, f"/operator/organizations/{org_id}"),
        )
    assert costs[20] == costs[2], costs
