"""Gather the task list's facts from each feature's bulk loader: for many organizations and people
with a fixed number of queries whatever their number; the single case is a bulk of one."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from sqlalchemy import select

from ..agreements.facts import agreement_facts
from ..extensions import db
from ..mfa.facts import second_factor_facts
from ..models import Membership, Organization, User
from ..onboarding.facts import details_answered
from ..sso.facts import linked_user_ids
from ..team.facts import PersonFacts, person_facts, team_counts
from ..team.review_facts import enforced_overdue
from ..training.facts import training_counts
from .engine import Facts, OrganizationFacts


def organization_facts(org: Organization) -> OrganizationFacts:
    """The facts held on the organization's own row."""
    return OrganizationFacts(
        eligibility=org.eligibility,
        details_answered=details_answered(org),
        details_confirmed=org.details_confirmed_at is not None,
        ohp_org_id=org.ohp_org_id,
        suspended=org.suspended_at is not None,
        live=org.went_live_at is not None,
        offboarded=org.offboarded_at is not None,
    )


def organizations_facts(orgs: Sequence[Organization]) -> dict[int, OrganizationFacts]:
    """The facts of each organization, in seven queries whatever their number (eight with
    ACCESS_REVIEW_ENFORCE on)."""
    ids = [org.id for org in orgs]
    team = team_counts(ids)
    training = training_counts(ids)
    agreements, _ = agreement_facts(ids, ())
    overdue = enforced_overdue(orgs)
    return {
        org.id: replace(
            organization_facts(org),
            **team[org.id],
            **training[org.id],
            agreements=agreements[org.id],
            access_review_overdue=overdue.get(org.id, False),
        )
        for org in orgs
    }


def people_facts(
    user_ids: Collection[int], organizations: dict[int, OrganizationFacts] | None = None
) -> dict[int, tuple[PersonFacts, Facts]]:
    """Each person's own facts (with their organization's when given), in six queries."""
    people = person_facts(user_ids)
    ids = list(people)
    mfa = second_factor_facts(ids)
    _, own = agreement_facts((), ids)
    linked = linked_user_ids(ids)
    organizations = organizations or {}
    return {
        user_id: (
            person,
            Facts(
                email_verified=person.email_verified,
                is_admin="admin" in person.roles,
                is_signer="signer" in person.roles,
                organization=organizations.get(person.organization_id) if person.organization_id else None,
                **mfa[user_id],
                user_agreements=own[user_id],
                sso_linked=user_id in linked,
            ),
        )
        for user_id, person in people.items()
    }


def load_facts(user: User, membership: Membership | None) -> Facts:
    """Return the live facts for this user and their organization (if any): a bulk of one."""
    organizations = organizations_facts([membership.organization]) if membership is not None else {}
    _, facts = people_facts([user.id], organizations)[user.id]
    if membership is None:
        return replace(facts, is_admin=False, is_signer=False, organization=None)
    return facts


def member_user_ids(organization_ids: Collection[int]) -> list[int]:
    """The people who belong to these organizations (active or not)."""
    return list(
        db.session.scalars(select(Membership.user_id).where(Membership.organization_id.in_(organization_ids)))
    )
