"""Provisioning through the wizard, against the local CQMR's real SCIM service: a wrong SCIM
token fails loudly for operators and loses nothing (the next delivery after the fix provisions
everyone), and a role an administrator changes on the team pages reaches the CQMR's record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import OutboxMessage

from .agreement_helpers import AUA, USER_TOS, consent, post_form, review
from .builders import add_member, link_onehealthport
from .helpers import page_text, sign_in, submit, task_status
from .operator_support import operator_client
from .provisioning_support import (
    cqmr_group_members,
    cqmr_user,
    membership_of,
    ready_organization,
    roles_of,
    state_of,
)

NEWCOMER = "nina@example.org"
BASE = timedelta(seconds=30)


@pytest.fixture
def cqmr(start_local_cqmr):
    return start_local_cqmr(wired=False)


def wizard(app_factory, cqmr, **overrides):
    settings = cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None)
    return app_factory(**{**settings, "OUTBOX_RETRY_BASE": BASE, **overrides})


def sign_user_agreements_over_http(client) -> None:
    """The newcomer's last task, as they do it: consent, read, tick and type their name."""
    consent(client)
    for url in (AUA, USER_TOS):
        review(client, url)
        signed = post_form(client, url + "/sign", {"full_name": "Nina Newcomer", "agree": "y"})
        assert signed.status_code == 302, signed.status_code


def scim_messages(app) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "scim")).all()
        db.session.expunge_all()
        return list(found)


def test_a_wrong_scim_token_fails_visibly_loses_nothing_and_the_fixed_token_provisions(
    app_factory, cqmr, clock, mailbox
):
    assert cqmr.scim("GET", "Users", token="token-B").status_code == 401  # the CQMR knows token A only
    app = wizard(app_factory, cqmr, CQMR_SCIM_TOKEN="token-B")
    world = ready_organization(app)
    newcomer = add_member(app, world["org"], email=NEWCOMER, name="Nina Newcomer", roles=("viewer",)).user_id
    link_onehealthport(app, newcomer)
    client = app.test_client()
    assert sign_in(client, NEWCOMER).status_code == 302
    sign_user_agreements_over_http(client)
    assert task_status(client.get("/tasks"), "user_agreements") == "Completed"

    # Queued and tried after the commit; the CQMR answered 401, and the wizard says so.
    state = state_of(app, newcomer)
    assert (state.state, state.desired_active) == ("failed", True)
    assert "401" in state.last_error
    assert cqmr_user(cqmr, newcomer) is None
    behind = [m for m in scim_messages(app) if m.status == "pending"]
    assert behind and all("401" in m.last_error for m in behind)

    operator = operator_client(app)
    page = page_text(operator.get(f"/operator/organizations/{world['org']}"))
    assert "Failed" in page and "401" in page
    assert "401" in page_text(operator.get("/operator/outbox"))
    status = app.test_cli_runner().invoke(args=["provisioning", "status"])
    assert status.exit_code == 1, status.output
    assert f"user {newcomer} (" in status.output and "failed (activate)" in status.output
    assert "401" in status.output and "3 failed" in status.output
    sync = app.test_cli_runner().invoke(args=["provisioning", "sync"])
    assert sync.exit_code != 0 and "The CQMR could not be read" in sync.output and "401" in sync.output

    fixed = wizard(app_factory, cqmr)  # the operator sets the right token
    clock.advance(BASE.total_seconds())  # the next delivery, when the backoff has passed
    result = fixed.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    record = cqmr_user(cqmr, newcomer)
    assert record["active"] is True and roles_of(record) == {"viewer"}
    assert record["name"]["formatted"] == "Nina Newcomer"
    members = {cqmr_user(cqmr, user)["id"] for user in (world["admin"], world["member"], newcomer)}
    assert cqmr_group_members(cqmr, world["org"]) == members  # nobody was lost
    assert state_of(fixed, newcomer).state == "provisioned"
    assert {m.status for m in scim_messages(fixed)} == {"sent"}
    quiet = fixed.test_cli_runner().invoke(args=["provisioning", "status"])
    assert quiet.exit_code == 0 and "3 provisioned, 0 pending, 0 failed" in quiet.output


def test_a_role_the_administrator_changes_on_the_team_pages_reaches_the_cqmr(app_factory, cqmr):
    app = wizard(app_factory, cqmr)
    world = ready_organization(app)
    assert roles_of(cqmr_user(cqmr, world["member"])) == {"submitter"}
    admin = app.test_client()
    assert sign_in(admin, world["admin_email"]).status_code == 302
    roles_page = f"/team/members/{membership_of(app, world['member'])}/roles"

    response = submit(admin, roles_page, {"roles": ["signer", "viewer"]})
    assert response.status_code == 302, page_text(response)
    record = cqmr_user(cqmr, world["member"])
    assert roles_of(record) == {"signer", "viewer"} and record["active"] is True
    assert roles_of(cqmr_user(cqmr, world["admin"])) == {"admin", "signer"}  # only theirs changed
    assert state_of(app, world["member"]).state == "provisioned"
