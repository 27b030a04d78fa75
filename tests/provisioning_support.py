"""Building members who are ready for the CQMR, and reading what the local CQMR holds."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership, MembershipRole, OidcIdentity, Organization, ProvisioningState
from cqmr_wizard.models.base import utcnow

from .agreement_helpers import sign_user_agreements
from .helpers import enroll_mfa, make_organization, make_user
from .test_gate import DETAILS, sign_organization_agreements

ISSUER = "https://ohp.test"


def link(app, user_id: int, subject: str | None = None, issuer: str = ISSUER) -> str:
    """Connect the person's own OneHealthPort account; returns its subject."""
    subject = subject or f"ohp-{user_id}-{secrets.token_hex(3)}"
    with app.app_context():
        db.session.add(OidcIdentity(user_id=user_id, issuer=issuer, subject=subject))
        db.session.commit()
    return subject


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
    admin = make_user(app, f"admin-{tag}@example.org", full_name="Ada Admin", mfa=False)
    enroll_mfa(app, admin)
    org = make_organization(
        app, admin, ("admin", "signer"), **{**DETAILS, "legal_name": name, "details_confirmed_at": utcnow()}
    )
    with app.app_context():
        db.session.get(Organization, org).ohp_org_id = ohp_org_id or f"OHP-{tag}"
        db.session.commit()
    member = make_user(app, f"member-{tag}@example.org", full_name="Max Member", mfa=False)
    enroll_mfa(app, member)
    with app.app_context():
        membership = Membership(organization_id=org, user_id=member)
        membership.role_rows.append(MembershipRole(role="submitter"))
        db.session.add(membership)
        db.session.commit()
    subjects = {"admin_sub": None, "member_sub": None}
    if link_people:
        subjects = {
            "admin_sub": link(app, admin, issuer=issuer),
            "member_sub": link(app, member, issuer=issuer),
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


def sign_user_agreement(app, user_id: int, kind: str) -> None:
    """Click-sign the current version of one user agreement, through the service that stores it."""
    from cqmr_wizard.agreements.consent import active_consent, give_consent
    from cqmr_wizard.agreements.evidence import ClientInfo
    from cqmr_wizard.agreements.services import current_version, record_review
    from cqmr_wizard.agreements.signing import sign_user_agreement as sign
    from cqmr_wizard.models import User

    with app.app_context():
        user = db.session.get(User, user_id)
        membership = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
        client = ClientInfo("127.0.0.1", "tests")
        if active_consent(user_id) is None:
            give_consent(user, client)
        version = current_version(kind)
        record_review(user, version, client, membership.organization_id)
        sign(user, membership, kind, version.id, version.content_sha256, user.full_name, client)
