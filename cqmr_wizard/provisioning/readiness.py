"""Who should be active in the CQMR, and as what: the gate's own decision, for many members at once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Membership, OidcIdentity, Organization, User
from ..models.organizations import ROLES
from ..sso import protocol
from ..tasks.facts import organizations_facts, people_facts
from ..tasks.gate_rule import gate_ready


@dataclass(frozen=True)
class ReadyMember:
    """A member the gate would let into the CQMR, with what the CQMR is told about them."""

    user: User
    organization: Organization
    roles: tuple[str, ...]
    user_name: str  # their OneHealthPort subject


def ready_members(organization_ids: Collection[int]) -> dict[int, ReadyMember]:
    """The ready members of these organizations by user id, in a fixed number of queries."""
    if not organization_ids:
        return {}
    orgs = db.session.scalars(select(Organization).where(Organization.id.in_(list(organization_ids)))).all()
    memberships = db.session.scalars(
        select(Membership)
        .options(joinedload(Membership.user), selectinload(Membership.role_rows))
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id.in_([org.id for org in orgs]), User.deactivated_at.is_(None))
    ).all()
    facts = people_facts([m.user_id for m in memberships], organizations_facts(orgs))
    ready = [
        m
        for m in memberships
        if gate_ready(
            facts[m.user_id][1], has_role=bool(m.roles), deactivated=m.user.deactivated_at is not None
        )
    ]
    subjects = identity_subjects([m.user_id for m in ready])
    return {
        m.user_id: ReadyMember(m.user, m.organization, tuple(sorted(m.roles)), subjects[m.user_id])
        for m in ready
        if m.user_id in subjects
    }


def identity_subjects(user_ids: Collection[int]) -> dict[int, str]:
    """Each user's OneHealthPort subject at the configured provider (any when none is configured)."""
    if not user_ids:
        return {}
    issuer = protocol.issuer()
    query = select(OidcIdentity.user_id, OidcIdentity.subject).where(OidcIdentity.user_id.in_(list(user_ids)))
    if issuer:
        query = query.where(OidcIdentity.issuer == issuer)
    return dict(db.session.execute(query).tuples().all())


def organization_group_id(organization_id: int) -> str:
    """The externalId of the organization's Group in the CQMR."""
    return f"organization-{organization_id}"


def group_name(organization: Organization) -> str:
    """The displayName of the organization's Group: the name its members know it by."""
    return organization.legal_name or organization.ohp_org_name or f"Organization {organization.id}"


def scim_user(user: User, user_name: str, *, active: bool, roles: Collection[str] = ()) -> dict[str, Any]:
    """The SCIM User the wizard wants the CQMR to hold (RFC 7643 §4.1, core schema only)."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": str(user.id),
        "name": {"formatted": user.full_name},
        "displayName": user.full_name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": active,
        # Roles on the User (RFC 7643 §4.1.2): a Group's members cannot carry attributes.
        "roles": [{"value": r, "display": ROLES[r][0] if r in ROLES else r} for r in roles],
    }


def digest(wanted: dict[str, Any], organization: str) -> str:
    """SHA-256 of what is wanted; a change of it is what triggers the SCIM calls."""
    body = json.dumps({"user": wanted, "group": organization}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()
