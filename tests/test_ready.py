"""One meaning of "ready": what the team page, the operator's organization page and the
dashboard call ready is exactly what the gate lets into the CQMR, the same moment."""

from __future__ import annotations

import re

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership
from cqmr_wizard.tasks.definitions import TASKS

from .agreement_helpers import complete_organization, publish_new_version
from .builders import add_member
from .operator_support import operator_client, post_with_token
from .team_support import admin_with_org, invite, signed_in, user_id_of

GATE = "/go-to-cqmr"
ADMIN = "ada@willow.example.org"
MEMBERS = (ADMIN, "max@willow.example.org", "mia@willow.example.org")


def team_readiness(client) -> dict[str, str]:
    """Each member's Status as the team page shows it."""
    html = client.get("/team").get_data(as_text=True)
    rows = re.findall(
        r'<tr data-email="([^"]+)">.*?<td [^>]*data-label="Status">\s*<span class="usa-tag [^"]*">([^<]+)</span>',
        html,
        re.S,
    )
    return dict(rows)


def operator_readiness(operator, org_id: int) -> list[str]:
    """The Ready column of the operator's page about the organization, member by member."""
    html = operator.get(f"/operator/organizations/{org_id}").get_data(as_text=True)
    return re.findall(r'<td class="ready">([^<]+)</td>', html)


def dashboard_members_ready(operator, org_id: int) -> str:
    """The dashboard's "Members ready" cell for the organization."""
    html = operator.get("/operator/").get_data(as_text=True)
    row = html[html.index(f'id="org-{org_id}"') :]
    return re.search(r'data-label="Members ready">([^<]+)</td>', row).group(1)


def ready_organization(app) -> tuple[int, dict]:
    """An organization whose own tasks are done, with three members whose own are too: each
    member's signed-in client by email."""
    ada, org_id = admin_with_org(app, ADMIN, org_name="Willow", agreements=True)
    complete_organization(app, org_id, ada)
    for email in MEMBERS[1:]:
        add_member(app, org_id, email=email, roles=("viewer",), agreements=True, linked=True)
    return org_id, {email: signed_in(app, email) for email in MEMBERS}


def missing_keys(response) -> set[str]:
    return set(re.findall(r'id="missing-([\w-]+)"', response.get_data(as_text=True)))


def test_suspending_an_organization_makes_its_members_not_ready_everywhere_at_once(app):
    org_id, clients = ready_organization(app)
    operator = operator_client(app)
    assert team_readiness(clients[ADMIN]) == dict.fromkeys(MEMBERS, "Ready")
    assert operator_readiness(operator, org_id) == ["Ready"] * 3
    assert dashboard_members_ready(operator, org_id) == "3 of 3"
    assert all(client.get(GATE).status_code == 200 for client in clients.values())

    page = f"/operator/organizations/{org_id}"
    response = post_with_token(operator, f"{page}/suspend", {"reason": "Audit"}, token_page=page)
    assert response.status_code == 302
    assert team_readiness(clients[ADMIN]) == dict.fromkeys(MEMBERS, "Not ready yet")
    assert operator_readiness(operator, org_id) == ["Not ready"] * 3
    assert dashboard_members_ready(operator, org_id) == "0 of 3"
    for client in clients.values():
        refused = client.get(GATE)
        assert refused.status_code == 403 and missing_keys(refused) == {"suspended"}

    assert post_with_token(operator, f"{page}/reactivate", token_page=page).status_code == 302
    assert team_readiness(clients[ADMIN]) == dict.fromkeys(MEMBERS, "Ready")
    assert operator_readiness(operator, org_id) == ["Ready"] * 3
    assert dashboard_members_ready(operator, org_id) == "3 of 3"
    assert all(client.get(GATE).status_code == 200 for client in clients.values())


def test_a_condition_a_live_organization_must_keep_makes_its_members_not_ready(app):
    """An open invitation changes nobody's readiness in a live organization; a new version of an
    organization agreement (which must stay in force) makes every member not ready at once."""
    org_id, clients = ready_organization(app)
    operator = operator_client(app)
    assert invite(clients[ADMIN], "Ivy Invited", "ivy@willow.example.org").status_code == 302
    assert team_readiness(clients[ADMIN]) == {
        **dict.fromkeys(MEMBERS, "Ready"),
        "ivy@willow.example.org": "Invited",
    }
    assert dashboard_members_ready(operator, org_id) == "3 of 3"
    assert clients["max@willow.example.org"].get(GATE).status_code == 200

    publish_new_version(app, "opa")
    assert team_readiness(clients[ADMIN]) == {
        **dict.fromkeys(MEMBERS, "Not ready yet"),
        "ivy@willow.example.org": "Invited",
    }
    assert dashboard_members_ready(operator, org_id) == "0 of 3"
    refused = clients["max@willow.example.org"].get(GATE)
    assert refused.status_code == 403 and missing_keys(refused) == {"org_agreements"}


def test_a_member_whose_last_role_is_removed_is_not_ready(app):
    org_id, clients = ready_organization(app)
    operator = operator_client(app)
    with app.app_context():
        membership = db.session.scalar(
            select(Membership).where(Membership.user_id == user_id_of(app, "max@willow.example.org"))
        )
        membership.role_rows.clear()
        db.session.commit()
    assert team_readiness(clients[ADMIN]) == {
        ADMIN: "Ready",
        "max@willow.example.org": "Not ready yet",
        "mia@willow.example.org": "Ready",
    }
    assert operator_readiness(operator, org_id).count("Ready") == 2
    assert dashboard_members_ready(operator, org_id) == "2 of 3"
    refused = clients["max@willow.example.org"].get(GATE)
    assert refused.status_code == 403 and missing_keys(refused) == {"role"}


def test_a_member_task_waits_only_for_required_organization_tasks():
    """Why an organization's effect on its members' readiness is one yes-or-no (gate_open): a
    member task waiting for an optional organization task would break it."""
    by_key = {task.key: task for task in TASKS}
    for task in TASKS:
        if task.scope == "user":
            for key in task.depends_on:
                assert by_key[key].required, (task.key, key)
