"""Everything the operator's page about one organization shows, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload

from ..extensions import db
from ..models import AgreementUpload, AuditEvent, Invitation, Membership, Organization, Signature, User
from ..models.agreements import UPLOAD_PENDING
from ..models.base import utcnow
from ..tasks import Facts, Status, TaskState
from ..tasks.expected import administrator_facts, organization_states, overall_status
from ..tasks.facts import organizations_facts, people_facts
from ..tasks.gate_rule import gate_ready

RECENT_EVENTS = 50


@dataclass(frozen=True)
class MemberFacts:
    """An active member with their live facts."""

    membership: Membership
    facts: Facts
    has_role: bool

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def ready(self) -> bool:
        """Whether the gate would let them into the CQMR: what the team page says too."""
        return gate_ready(
            self.facts, has_role=self.has_role, deactivated=self.user.deactivated_at is not None
        )


@dataclass(frozen=True)
class Profile:
    organization: Organization
    states: list[TaskState]
    overall: Status
    members: list[MemberFacts]
    invitations: list[Invitation]
    signatures: list[Signature]
    uploads: list[AgreementUpload]
    events: list[tuple[AuditEvent, User | None, User | None]]
    now: datetime


def recent_events(org_id: int, limit: int = RECENT_EVENTS) -> list[tuple]:
    """The organization's latest audit events with who acted and whom they concerned."""
    actor, subject = aliased(User), aliased(User)
    return (
        db.session.execute(
            select(AuditEvent, actor, subject)
            .outerjoin(actor, actor.id == AuditEvent.actor_id)
            .outerjoin(subject, subject.id == AuditEvent.subject_user_id)
            .where(AuditEvent.organization_id == org_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
        .tuples()
        .all()
    )


def load_profile(org_id: int) -> Profile | None:
    """The organization's page, or None if there is no such organization."""
    org = db.session.get(Organization, org_id)
    if org is None:
        return None
    facts = organizations_facts([org])
    states = organization_states(facts[org.id])
    memberships = db.session.scalars(
        select(Membership)
        .options(joinedload(Membership.user))
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == org.id, User.deactivated_at.is_(None))
        .order_by(User.full_name, User.id)
    ).all()
    live = people_facts([m.user_id for m in memberships], facts)
    members = [MemberFacts(m, live[m.user_id][1], bool(live[m.user_id][0].roles)) for m in memberships]
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.organization_id == org.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
            )
            .order_by(Invitation.created_at.desc())
        )
    )
    signatures = list(
        db.session.scalars(
            select(Signature)
            .options(joinedload(Signature.version))
            .where(Signature.organization_id == org.id)
            .order_by(Signature.signed_at)
        )
    )
    uploads = list(
        db.session.scalars(
            select(AgreementUpload)
            .options(joinedload(AgreementUpload.version), joinedload(AgreementUpload.uploaded_by))
            .where(AgreementUpload.organization_id == org.id, AgreementUpload.status == UPLOAD_PENDING)
            .order_by(AgreementUpload.uploaded_at)
        )
    )
    return Profile(
        org,
        states,
        overall_status(states, org.went_live_at is not None, administrator_facts(facts[org.id])),
        members,
        invitations,
        signatures,
        uploads,
        recent_events(org.id),
        utcnow(),
    )


def find_signature(org_id: int, signature_id: int) -> Signature | None:
    """A signature of this organization (None for another organization's)."""
    return db.session.scalar(
        select(Signature).where(Signature.id == signature_id, Signature.organization_id == org_id)
    )
