"""Gather the facts the task list needs, with the same queries whatever the organization's size."""

from __future__ import annotations

from dataclasses import replace

from ..agreements.facts import current_version_ids, organization_agreement_facts, user_agreement_facts
from ..mfa.facts import second_factor_facts
from ..models import Membership, Organization, User
from ..sso.facts import ohp_linked
from ..team.facts import team_counts
from ..training.facts import training_counts
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
        ohp_org_id=org.ohp_org_id,
        suspended=org.suspended_at is not None,
    )


def load_facts(user: User, membership: Membership | None) -> Facts:
    """Return the facts for this user and their organization (if any).

    tasks/bulk.py gathers the same facts for many organizations at once (operator dashboard,
    reminders): a fact added here must be added there too (tests/test_operator_facts.py)."""
    mfa = second_factor_facts(user.id)
    current = current_version_ids()
    own = user_agreement_facts(user.id, current)
    linked = ohp_linked(user.id)
    if membership is None:
        return Facts(email_verified=user.email_verified, **mfa, user_agreements=own, ohp_linked=linked)
    return Facts(
        email_verified=user.email_verified,
        is_admin=membership.has_role("admin"),
        **mfa,
        is_signer=membership.has_role("signer"),
        user_agreements=own,
        ohp_linked=linked,
        organization=replace(
            organization_facts(membership.organization),
            **team_counts(membership.organization_id),
            **training_counts(membership.organization_id),
            agreements=organization_agreement_facts(membership.organization_id, current),
        ),
    )
