"""Live organizations for the tests: built straight in the database (only the starting point
matters), then read back as people see them: the task list, the gate, and the local CQMR over SCIM."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Invitation, Organization
from cqmr_wizard.models.progress import OrganizationProgress
from cqmr_wizard.tasks.definitions import TASKS

from .agreement_helpers import complete_organization
from .builders import ISSUER, add_member, link_onehealthport, sign_user_agreements
from .helpers import page_text, submit
from .provisioning_support import cqmr_group_members, cqmr_user, roles_of
from .team_support import admin_with_org, signed_in

GATE = "/go-to-cqmr"
ORGANIZATION_TASKS = tuple(t.key for t in TASKS if t.scope == "organization" and t.required)
OWN_TASKS = ("mfa", "ohp_account", "user_agreements")
# Past the invitation's lifetime (INVITATION_TTL, seven days by default).
PAST_EXPIRY = timedelta(days=8).total_seconds()


def cqmr_settings(cqmr) -> dict:
    """The wizard's settings for a SCIM-only local CQMR: provisioning, and a "Go to CQMR" that
    starts its third-party-initiated login for people linked at the builders' OneHealthPort."""
    return {
        "OIDC_ISSUER": ISSUER,
        "OIDC_CLIENT_ID": "cqmr-wizard-test",
        "OIDC_CLIENT_SECRET": "unused-here",
        **cqmr.wizard_config(),
    }


def live_organization(
    app,
    domain: str,
    others: tuple[str, ...] = ("max", "mia"),
    *,
    signer: str | None = None,
    org_name: str | None = None,
    ohp_org_id: str | None = None,
    issuer: str = ISSUER,
    subjects: dict[str, str] | None = None,
) -> tuple[int, dict[str, int]]:
    """An organization (named `org_name`, else `domain`) whose required tasks are all done, so
    it is live, administered by ada@`domain`, with `others`@`domain` as ready viewers; its
    authorized signer, who signed its agreements, is Ada or else `signer`@`domain` (a ready
    member with that role alone). Each person's own OneHealthPort account at `issuer` has the
    subject `subjects[email]` (default: one of their own). Returns (org id, user id by email)."""
    subjects = subjects or {}
    admin = f"ada@{domain}"
    ada, org_id = admin_with_org(app, admin, name="Ada Admin", org_name=org_name or domain)
    if ohp_org_id is not None:
        with app.app_context():
            db.session.get(Organization, org_id).ohp_org_id = ohp_org_id
            db.session.commit()
    people = {admin: ada}
    for name in ((signer,) if signer else ()) + others:
        email = f"{name}@{domain}"
        roles = ("signer",) if name == signer else ("viewer",)
        people[email] = add_member(
            app, org_id, email=email, name=f"{name.title()} Member", roles=roles, agreements=True
        ).user_id
    sign_user_agreements(app, ada)
    for email, user_id in people.items():
        link_onehealthport(app, user_id, subjects.get(email), issuer=issuer)
    complete_organization(app, org_id, people[f"{signer}@{domain}"] if signer else ada)
    return org_id, people


def clients_of(app, people: dict[str, int]) -> dict[str, object]:
    """A signed-in client for each person."""
    return {email: signed_in(app, email) for email in people}


def went_live(app, org_id: int) -> tuple[datetime | None, datetime | None]:
    """The organization's went_live_at, and the projection's copy of it."""
    with app.app_context():
        live = db.session.get(Organization, org_id).went_live_at
        projected = db.session.scalar(
            select(OrganizationProgress.went_live_at).where(OrganizationProgress.organization_id == org_id)
        )
        return live, projected


def open_invitation(app, org_id: int) -> int:
    """The id of the organization's last invitation."""
    with app.app_context():
        return db.session.scalar(
            select(Invitation.id).where(Invitation.organization_id == org_id).order_by(Invitation.id.desc())
        )


def live_since(response) -> str | None:
    """The text of the page's "Live since" statement (its element `#live-since`), or None."""
    match = re.search(r'<(\w+)[^>]*\bid="live-since"[^>]*>(.*?)</\1>', response.get_data(as_text=True), re.S)
    return None if match is None else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(2))).strip()


def missing_keys(response) -> set[str]:
    """The keys of what the gate's refusal page says is still missing."""
    return set(re.findall(r'id="missing-([\w-]+)"', response.get_data(as_text=True)))


def enters_cqmr(client, cqmr) -> None:
    """The person's "Go to CQMR" opens: the gate's page offers it, and it redirects to the CQMR's
    third-party-initiated login."""
    shown = client.get(GATE)
    assert shown.status_code == 200, (shown.status_code, missing_keys(shown))
    response = submit(client, GATE, {})
    assert response.status_code == 303, response.status_code
    assert response.location.startswith(f"{cqmr.base_url}/login?"), response.location


def scim_record(cqmr, user_id: int) -> dict | None:
    """What the CQMR holds about the person: enough to tell whether anything was written to it."""
    found = cqmr_user(cqmr, user_id)
    if found is None:
        return None
    return {
        "id": found["id"],
        "userName": found["userName"],
        "active": found["active"],
        "roles": roles_of(found),
        "lastModified": found["meta"]["lastModified"],
    }


def scim_records(cqmr, user_ids) -> dict[int, dict | None]:
    return {user_id: scim_record(cqmr, user_id) for user_id in user_ids}


def all_active_in_group(cqmr, org_id: int, records: dict[int, dict | None]) -> None:
    """Every one of `records` is an active CQMR user in the organization's group."""
    assert all(r is not None and r["active"] for r in records.values()), records
    assert {r["id"] for r in records.values()} <= (cqmr_group_members(cqmr, org_id) or set())


def deliver(app) -> str:
    """`flask outbox deliver`: the clock pass, then whatever is due."""
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    return result.output


# What the task list and the gate's page say about signers in any case: each task's hint and who
# does it. A request to name a new signer is what is left once those are taken out.
_STANDING = sorted(
    {t.hint for t in TASKS if t.hint} | {t.done_by for t in TASKS if t.done_by}, key=len, reverse=True
)


def asks_for_a_signer(response) -> bool:
    """Whether the page asks for an authorized signer beyond the tasks' standing hints."""
    text = page_text(response)
    for standing in _STANDING:
        text = text.replace(standing, "").replace(standing[0].upper() + standing[1:], "")
    return "authorized signer" in text.lower()
