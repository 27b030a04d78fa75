"""The task list's facts for many organizations and their members at once.

The operator dashboard and the reminders need facts for thousands of organizations; calling
`load_facts` for each would cost queries per organization. These functions gather the same
facts with a fixed number of queries. Every fact `load_facts` gathers must be gathered here
too: tests/test_operator_facts.py compares the two."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import joinedload

from ..agreements.facts import (
    current_version_ids,
    organization_agreement_facts_bulk,
    user_agreement_facts_bulk,
)
from ..extensions import db
from ..models import Invitation, Membership, MembershipRole, MfaState, Organization, TotpCredential, User
from ..models.base import utcnow
from ..models.mfa import ACTIVE, PENDING
from ..sso.facts import ohp_linked_bulk
from ..training.facts import IN_LIST_LIMIT, training_counts_bulk
from .definitions import TASKS
from .engine import Facts, OrganizationFacts, task_statuses
from .facts import organization_facts

TEAM_ZERO = {"members": 0, "admins": 0, "signers": 0, "invitations": 0, "pending_invitations": 0}


def _in(column, ids: Sequence[int]):
    """A filter on `ids`, or none when the list is long (the caller picks its rows)."""
    return column.in_(ids) if len(ids) <= IN_LIST_LIMIT else True


def team_counts_bulk(organization_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """`team_counts` for each organization, in two queries."""

    def holders(role: str):
        return func.count(distinct(case((MembershipRole.role == role, Membership.id))))

    counts = {org_id: dict(TEAM_ZERO) for org_id in organization_ids}
    members = db.session.execute(
        select(
            Membership.organization_id,
            func.count(distinct(Membership.id)),
            holders("admin"),
            holders("signer"),
        )
        .join(User, User.id == Membership.user_id)
        .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(User.deactivated_at.is_(None), _in(Membership.organization_id, organization_ids))
        .group_by(Membership.organization_id)
    ).tuples()
    for org_id, total, admins, signers in members:
        if org_id in counts:
            counts[org_id].update(members=total, admins=admins, signers=signers)
    pending = and_(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()
    )
    invitations = db.session.execute(
        select(
            Invitation.organization_id, func.count(Invitation.id), func.count(case((pending, Invitation.id)))
        )
        .where(_in(Invitation.organization_id, organization_ids))
        .group_by(Invitation.organization_id)
    ).tuples()
    for org_id, total, still_open in invitations:
        if org_id in counts:
            counts[org_id].update(invitations=total, pending_invitations=still_open)
    return counts


def organization_facts_bulk(orgs: Sequence[Organization]) -> dict[int, OrganizationFacts]:
    """The organization facts of each organization, in seven queries whatever their number."""
    ids = [org.id for org in orgs]
    team = team_counts_bulk(ids)
    training = training_counts_bulk(ids)
    agreements = organization_agreement_facts_bulk(ids, current_version_ids())
    return {
        org.id: replace(
            organization_facts(org), **team[org.id], **training[org.id], agreements=agreements[org.id]
        )
        for org in orgs
    }


@dataclass(frozen=True)
class MemberFacts:
    """One member of an organization with their facts, as the task list would see them."""

    membership: Membership
    facts: Facts

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def ready(self) -> bool:
        """Every required task of their own (scope "user") is completed."""
        return all(
            state.completed
            for state in task_statuses(self.facts, TASKS)
            if state.task.scope == "user" and state.task.required
        )


def _second_factor_bulk(organization_ids: Sequence[int]) -> dict[int, dict[str, bool]]:
    """`second_factor_facts` for every member of these organizations, in two queries."""
    by_user: dict[int, dict[str, bool]] = defaultdict(
        lambda: {"mfa_enrolled": False, "mfa_pending": False, "recovery_codes_saved": False}
    )
    states = db.session.execute(
        select(TotpCredential.user_id, TotpCredential.state)
        .join(Membership, Membership.user_id == TotpCredential.user_id)
        .where(_in(Membership.organization_id, organization_ids))
    ).tuples()
    for user_id, state in states:
        if state == ACTIVE:
            by_user[user_id]["mfa_enrolled"] = True
        elif state == PENDING:
            by_user[user_id]["mfa_pending"] = True
    saved = db.session.scalars(
        select(MfaState.user_id)
        .join(Membership, Membership.user_id == MfaState.user_id)
        .where(
            MfaState.recovery_codes_confirmed_at.is_not(None),
            _in(Membership.organization_id, organization_ids),
        )
    )
    for user_id in saved:
        by_user[user_id]["recovery_codes_saved"] = True
    return by_user


def member_facts_bulk(
    org_facts: dict[int, OrganizationFacts],
) -> dict[int, list[MemberFacts]]:
    """The active members of these organizations with their facts, in seven queries."""
    ids = list(org_facts)
    memberships = db.session.scalars(
        select(Membership)
        .options(joinedload(Membership.user))
        .join(User, User.id == Membership.user_id)
        .where(_in(Membership.organization_id, ids), User.deactivated_at.is_(None))
        .order_by(Membership.organization_id, User.full_name, User.id)
    ).all()
    second_factor = _second_factor_bulk(ids)
    own_agreements = user_agreement_facts_bulk(ids, current_version_ids())
    linked = ohp_linked_bulk(ids, _in)
    members: dict[int, list[MemberFacts]] = {org_id: [] for org_id in ids}
    for membership in memberships:
        if membership.organization_id not in members:
            continue
        facts = Facts(
            email_verified=membership.user.email_verified,
            is_admin=membership.has_role("admin"),
            organization=org_facts[membership.organization_id],
            **second_factor[membership.user_id],
            is_signer=membership.has_role("signer"),
            user_agreements=own_agreements[membership.user_id],
            ohp_linked=membership.user_id in linked,
        )
        members[membership.organization_id].append(MemberFacts(membership, facts))
    return members
