"""Building members who are ready for the CQMR, and reading what the local CQMR holds."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership, Organization, ProvisioningState
from cqmr_wizard.models.base import utcnow

from .builders import (
    DETAILS,
    ISSUER,
    add_member,
    link_onehealthport,
    make_organization,
    make_user,
    sign_organization_agreements,
    sign_user_agreements,
)


def ready_organization(
    app,
    name: str = "Willamette Valley Clinic",
    issuer: str = ISSUER,
    *,
    link_people: bool = True,
    ohp_org_id: str | None = None,
) -> dict:
    """An organization whose administrator-signer and one submitter have done every task (with
    `link_people` False, all but linking their own OneHealthPort account). Returns ids, emails
    and OneHealthPort subjects: admin, member, org, admin_email, member_email, admin_sub, member_sub."""
    tag = secrets.token_hex(3)
    admin = make_user(app, f"admin-{tag}@example.org", full_name="Ada Admin")
    org = make_organization(
        app, admin, ("admin", "signer"), **{**DETAILS, "legal_name": name, "details_confirmed_at": utcnow()}
    )
    with app.app_context():
        db.session.get(Organization, org).ohp_org_id = ohp_org_id or f"OHP-{tag}"
        db.session.commit()
    member = add_member(
        app, org, email=f"member-{tag}@example.org", name="Max Member", roles=("submitter",)
    ).user_id
    subjects = {"admin_sub": None, "member_sub": None}
    if link_people:
        subjects = {
            "admin_sub": link_onehealthport(app, admin, issuer=issuer),
            "member_sub": link_onehealthport(app, member, issuer=issuer),
        }
    sign_organization_agreements(app, admin, org)
    sign_user_agreements(app, admin)
    sign_user_agreements(app, member)
    return {
        "admin": admin,
        "member": member,
        "org": org,
        "admin_email": f"admin-{tag}@example.org",
        "member_email": f"member-{tag}@example.org",
        **subjects,
    }


def membership_of(app, user_id: int) -> int:
    """The id of the person's membership (the team pages' member id)."""
    with app.app_context():
        return db.session.scalar(select(Membership.id).where(Membership.user_id == user_id))


def state_of(app, user_id: int) -> ProvisioningState | None:
    with app.app_context():
        state = db.session.scalar(select(ProvisioningState).where(ProvisioningState.user_id == user_id))
        if state is not None:
            db.session.expunge(state)
        return state


def cqmr_user(cqmr, user_id: int) -> dict | None:
    """The CQMR's User whose externalId is this wizard user id, or None."""
    response = cqmr.scim("GET", f'Users?filter=externalId eq "{user_id}"')
    assert response.status_code == 200, response.text
    found = response.json().get("Resources", [])
    assert len(found) <= 1, found
    return found[0] if found else None


def cqmr_group_members(cqmr, org_id: int) -> set[str] | None:
    """The SCIM ids in the organization's Group, or None when there is no such Group."""
    response = cqmr.scim("GET", f'Groups?filter=externalId eq "organization-{org_id}"')
    assert response.status_code == 200, response.text
    found = response.json().get("Resources", [])
    return {m["value"] for m in found[0].get("members", [])} if found else None


def roles_of(resource: dict) -> set[str]:
    return {r["value"] for r in resource.get("roles", [])}
