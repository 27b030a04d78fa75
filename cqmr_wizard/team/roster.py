"""The team page's list: members and open invitations, filtered and paginated on the server.

Readiness comes from the same pure task function as everyone's task list (a member is ready
when every required task of their own is completed), so the two can never disagree. The facts
are gathered for the whole organization with a fixed number of queries whatever its size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import models
from ..extensions import db
from ..models import Invitation, Membership, MembershipRole, Organization, User
from ..models.base import utcnow
from ..models.organizations import ROLES
from ..tasks.engine import OrganizationFacts, Status, task_statuses

READINESS_FILTERS = {
    "ready": "Ready",
    "not_ready": "Not ready yet",
    "invited": "Invited, not yet accepted",
    "deactivated": "Deactivated",
}
# The member's own task that stands for "user agreements signed", once it exists.
AGREEMENTS_TASK_KEYS = ("user_agreements", "agreements")


def sso_available() -> bool:
    """Whether OneHealthPort identities can be linked in this build."""
    return getattr(models, "OidcIdentity", None) is not None


def sso_linked(user_id: int) -> bool | None:
    """Whether the user has linked a OneHealthPort identity; None when SSO is not available."""
    identity = getattr(models, "OidcIdentity", None)
    if identity is None:
        return None
    return db.session.scalar(select(identity.id).where(identity.user_id == user_id).limit(1)) is not None


@dataclass
class RosterRow:
    """One line of the team table: a member or an open invitation."""

    kind: str  # "member" or "invitation"
    id: int
    name: str
    email: str
    roles: list[str]
    email_verified: bool = False
    sso_linked: bool = False
    mfa: Status | None = None
    agreements: Status | None = None
    ready: bool = False
    deactivated: bool = False
    expires_at: datetime | None = None
    user_id: int | None = None

    @property
    def readiness(self) -> str:
        if self.kind == "invitation":
            expired = self.expires_at is not None and self.expires_at <= utcnow()
            return "Invitation expired" if expired else "Invited"
        if self.deactivated:
            return "Deactivated"
        return "Ready" if self.ready else "Not ready yet"

    @property
    def readiness_key(self) -> str:
        if self.kind == "invitation":
            return "invited"
        if self.deactivated:
            return "deactivated"
        return "ready" if self.ready else "not_ready"


@dataclass
class RosterPage:
    rows: list[RosterRow]
    total: int
    page: int
    per_page: int
    organization: OrganizationFacts

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _member_rows(org: Organization) -> tuple[OrganizationFacts, list[RosterRow]]:
    # Imported here: tasks.facts imports this package's facts module at start-up.
    from ..tasks import TASKS
    from ..tasks.bulk import member_facts_bulk, organization_facts_bulk

    org_facts = organization_facts_bulk([org])
    active = member_facts_bulk(org_facts)[org.id]
    deactivated = db.session.execute(
        select(Membership.id, Membership.user_id, User.full_name, User.email, User.email_verified_at)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == org.id, User.deactivated_at.is_not(None))
    ).all()
    held: dict[int, list[str]] = {}
    for membership_id, role in db.session.execute(
        select(MembershipRole.membership_id, MembershipRole.role).where(
            MembershipRole.membership_id.in_([d.id for d in deactivated])
        )
    ):
        held.setdefault(membership_id, []).append(role)
    linked: set[int] = set()
    identity = getattr(models, "OidcIdentity", None)
    if identity is not None:
        linked = set(
            db.session.scalars(
                select(identity.user_id)
                .join(Membership, Membership.user_id == identity.user_id)
                .where(Membership.organization_id == org.id)
            )
        )

    rows = []
    for member in active:
        states = {s.task.key: s for s in task_statuses(member.facts, TASKS)}
        agreements = next((states[k].status for k in AGREEMENTS_TASK_KEYS if k in states), None)
        rows.append(
            RosterRow(
                kind="member",
                id=member.membership.id,
                name=member.user.full_name,
                email=member.user.email,
                roles=[k for k in ROLES if member.membership.has_role(k)],
                email_verified=member.user.email_verified,
                sso_linked=member.user.id in linked,
                mfa=states["mfa"].status if "mfa" in states else None,
                agreements=agreements,
                ready=member.facts.email_verified and member.ready,
                user_id=member.user.id,
            )
        )
    for d in deactivated:
        rows.append(
            RosterRow(
                kind="member",
                id=d.id,
                name=d.full_name,
                email=d.email,
                roles=[k for k in ROLES if k in held.get(d.id, [])],
                email_verified=d.email_verified_at is not None,
                sso_linked=d.user_id in linked,
                deactivated=True,
                user_id=d.user_id,
            )
        )
    return org_facts[org.id], rows


def _invitation_rows(organization_id: int) -> list[RosterRow]:
    invitations = db.session.scalars(
        select(Invitation).where(
            Invitation.organization_id == organization_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ).all()
    return [
        RosterRow(
            kind="invitation",
            id=i.id,
            name=i.full_name,
            email=i.email,
            roles=i.roles,
            expires_at=i.expires_at,
        )
        for i in invitations
    ]


def roster(
    org: Organization,
    *,
    role: str | None = None,
    readiness: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> RosterPage:
    """One page of the team, members and open invitations together, ordered by name."""
    org_facts, rows = _member_rows(org)
    rows += _invitation_rows(org.id)
    if role in ROLES:
        rows = [r for r in rows if role in r.roles]
    if readiness in READINESS_FILTERS:
        rows = [r for r in rows if r.readiness_key == readiness]
    needle = (text or "").strip().lower()[:100]
    if needle:
        rows = [r for r in rows if needle in r.name.lower() or needle in r.email.lower()]
    rows.sort(key=lambda r: (r.name.lower(), r.kind, r.id))
    last_page = max(1, math.ceil(len(rows) / per_page))
    page = min(max(1, page), last_page)
    return RosterPage(rows[(page - 1) * per_page : page * per_page], len(rows), page, per_page, org_facts)
