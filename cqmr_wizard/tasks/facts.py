"""Gather the facts the task list needs, with the same queries whatever the organization's size."""

from __future__ import annotations

from ..models import Membership, Organization, User
from .engine import Facts, OrganizationFacts


def organization_facts(org: Organization) -> OrganizationFacts:
    answered = set()
    for name in ("legal_name", "organization_type", "tax_id", "phone"):
        if getattr(org, name):
            answered.add(name)
    if org.address_line1 and org.city and org.state and org.postal_code:
        answered.add("address")
    if org.npi:
        answered.add("npi")
    return OrganizationFacts(
        eligibility=org.eligibility,
        details_answered=frozenset(answered),
        details_confirmed=org.details_confirmed_at is not None,
    )


def load_facts(user: User, membership: Membership | None) -> Facts:
    """Return the facts for this user and their organization (if any)."""
    if membership is None:
        return Facts(email_verified=user.email_verified)
    return Facts(
        email_verified=user.email_verified,
        is_admin=membership.has_role("admin"),
        organization=organization_facts(membership.organization),
    )
