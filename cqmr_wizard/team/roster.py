"""The team page's list: members and open invitations, filtered, counted and paginated in SQL.

Readiness and each member's task statuses are read from the progress projection, which the task
engine writes from the same pure task function as everyone's task list, so the two never
disagree; the page costs the same statements whatever the organization's size."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)

from ..extensions import db
from ..models import Invitation, MembershipRole, User
from ..models.base import UTCDateTime, utcnow
from ..models.organizations import ROLES
from ..models.progress import MemberProgress, MemberTaskStatus
from ..tasks import projection
from ..tasks.engine import Status

READINESS_FILTERS = {
    "ready": "Ready",
    "not_ready": "Not ready yet",
    "invited": "Invited, not yet accepted",
    "deactivated": "Deactivated",
}


# The Status column's words for each readiness key.
SHOWN_READINESS = {
    "ready": "Ready",
    "not_ready": "Not ready yet",
    "invited": "Invited",
    "expired": "Invitation expired",
    "deactivated": "Deactivated",
}


@dataclass
class RosterRow:
    """One line of the team table: a member or an open invitation."""

    kind: str  # "member" or "invitation"
    id: int
    name: str
    email: str
    roles: list[str] = field(default_factory=list)
    email_verified: bool = False
    sso_linked: bool = False
    mfa: Status | None = None
    agreements: Status | None = None
    ready: bool = False
    deactivated: bool = False
    expires_at: datetime | None = None
    user_id: int | None = None

    @property
    def readiness_key(self) -> str:
        """Where the row stands, as a key: the Status column's colour and words."""
        if self.kind == "invitation":
            expired = self.expires_at is not None and self.expires_at <= utcnow()
            return "expired" if expired else "invited"
        if self.deactivated:
            return "deactivated"
        return "ready" if self.ready else "not_ready"

    @property
    def readiness(self) -> str:
        return SHOWN_READINESS[self.readiness_key]


@dataclass
class RosterPage:
    rows: list[RosterRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Every value a request brings is a bound parameter, so that each shape of the page's two
# statements is built (and its cache key computed) once per process rather than per request.
ORGANIZATION_ID = bindparam("organization_id")
ROLE = bindparam("role", type_=String())
ROLE_WORD = bindparam("role_word", type_=String())  # " role " inside " key key … "
PATTERN = bindparam("pattern", type_=String())
LIMIT = bindparam("limit", type_=Integer())
OFFSET = bindparam("offset", type_=Integer())


def _members(role: bool, readiness: str | None, search: bool) -> Select:
    """The organization's members from the projection alone: names and emails are read for the
    page's rows only (`roster`), so that ordering a large team never reads every account."""
    query = select(
        literal("member").label("kind"),
        MemberProgress.membership_id.label("id"),
        null().label("name"),
        null().label("email"),
        MemberProgress.sort_name.label("sort_name"),
        MemberProgress.email_verified.label("email_verified"),
        MemberProgress.sso_linked.label("sso_linked"),
        MemberProgress.deactivated.label("deactivated"),
        MemberProgress.ready.label("ready"),
        literal(None, UTCDateTime()).label("expires_at"),
        MemberProgress.user_id.label("user_id"),
        null().label("role_keys"),
    ).where(MemberProgress.organization_id == ORGANIZATION_ID)
    if role:
        query = query.where(
            exists().where(
                MembershipRole.membership_id == MemberProgress.membership_id, MembershipRole.role == ROLE
            )
        )
    if readiness == "ready":
        query = query.where(MemberProgress.ready, MemberProgress.deactivated.is_(False))
    elif readiness == "not_ready":
        query = query.where(MemberProgress.ready.is_(False), MemberProgress.deactivated.is_(False))
    elif readiness == "deactivated":
        query = query.where(MemberProgress.deactivated)
    elif readiness == "invited":
        query = query.where(false())
    if search:
        query = query.where(
            exists().where(
                User.id == MemberProgress.user_id,
                or_(
                    func.lower(User.full_name).like(PATTERN, escape="\\"),
                    func.lower(User.email).like(PATTERN, escape="\\"),
                ),
            )
        )
    return query


def _invitations(role: bool, readiness: str | None, search: bool) -> Select:
    query = select(
        literal("invitation").label("kind"),
        Invitation.id.label("id"),
        Invitation.full_name.label("name"),
        Invitation.email.label("email"),
        func.lower(Invitation.full_name).label("sort_name"),
        false().label("email_verified"),
        false().label("sso_linked"),
        false().label("deactivated"),
        false().label("ready"),
        Invitation.expires_at.label("expires_at"),
        null().label("user_id"),
        Invitation.role_keys.label("role_keys"),
    ).where(
        Invitation.organization_id == ORGANIZATION_ID,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        true() if readiness in (None, "invited") else false(),
    )
    if role:
        query = query.where((literal(" ") + Invitation.role_keys + literal(" ")).like(ROLE_WORD))
    if search:
        query = query.where(
            or_(
                func.lower(Invitation.full_name).like(PATTERN, escape="\\"),
                func.lower(Invitation.email).like(PATTERN, escape="\\"),
            )
        )
    return query


# The page query's own columns; `_details` adds the rest.
PAGE_COLUMNS = (
    "kind",
    "id",
    "sort_name",
    "email_verified",
    "sso_linked",
    "deactivated",
    "ready",
    "expires_at",
    "user_id",
)


def _details(rows) -> tuple:
    """Columns for the page's rows only: the person's name and email, a member's roles and own
    task statuses, each looked up by key (reading them for the whole team would grow with it)."""

    def status(task_key: str):
        return (
            select(MemberTaskStatus.status)
            .where(MemberTaskStatus.user_id == rows.c.user_id, MemberTaskStatus.task_key == task_key)
            .scalar_subquery()
        )

    held = (
        select(func.aggregate_strings(MembershipRole.role, " "))
        .where(rows.c.kind == "member", MembershipRole.membership_id == rows.c.id)
        .scalar_subquery()
    )
    return (
        func.coalesce(User.full_name, rows.c.name).label("name"),
        func.coalesce(User.email, rows.c.email).label("email"),
        func.coalesce(held, rows.c.role_keys, "").label("held_roles"),
        status("mfa").label("mfa_status"),
        status("user_agreements").label("agreements_status"),
    )


@cache
def _statements(role: bool, readiness: str | None, search: bool) -> tuple[Select, Select]:
    """The count and the page for one combination of filters (built once per process)."""
    both = union_all(_members(role, readiness, search), _invitations(role, readiness, search)).subquery(
        "team"
    )
    total = select(func.count()).select_from(both)
    rows = (
        select(both)
        .order_by(both.c.sort_name, both.c.kind, both.c.id)
        .limit(LIMIT)
        .offset(OFFSET)
        .subquery("page")
    )
    page = (
        select(*(rows.c[key] for key in PAGE_COLUMNS), *_details(rows))
        .outerjoin(User, User.id == rows.c.user_id)
        .order_by(rows.c.sort_name, rows.c.kind, rows.c.id)
    )
    return total, page


def _row(result) -> RosterRow:
    held = result.held_roles.split()
    if result.kind == "invitation":
        return RosterRow(
            "invitation", result.id, result.name, result.email, held, expires_at=result.expires_at
        )
    deactivated = bool(result.deactivated)
    return RosterRow(
        "member",
        result.id,
        result.name,
        result.email,
        [k for k in ROLES if k in held],
        email_verified=bool(result.email_verified),
        sso_linked=bool(result.sso_linked),
        mfa=None if deactivated or result.mfa_status is None else Status[result.mfa_status],
        agreements=None
        if deactivated or result.agreements_status is None
        else Status[result.agreements_status],
        ready=bool(result.ready),
        deactivated=deactivated,
        user_id=result.user_id,
    )


def roster(
    organization_id: int,
    *,
    role: str | None = None,
    readiness: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> RosterPage:
    """One page of the team, members and open invitations together, ordered by name."""
    projection.refresh_due()
    role = role if role in ROLES else None
    readiness = readiness if readiness in READINESS_FILTERS else None
    needle = (text or "").strip().lower()[:100]
    params = {
        "organization_id": organization_id,
        "role": role,
        "role_word": f"% {role} %",
        "pattern": f"%{_escape_like(needle)}%",
    }
    count_statement, page_statement = _statements(role is not None, readiness, bool(needle))
    total = db.session.scalar(count_statement, params) or 0
    page = min(max(1, page), max(1, math.ceil(total / per_page)))
    params.update(limit=per_page, offset=(page - 1) * per_page)
    results = db.session.execute(page_statement, params).all()
    return RosterPage([_row(r) for r in results], total, page, per_page)


@cache
def _sso_linked_statement() -> Select:
    return select(MemberProgress.sso_linked).where(MemberProgress.user_id == bindparam("user_id"))


def member_sso_linked(user_id: int) -> bool:
    """Whether the member has linked a OneHealthPort identity (from the projection)."""
    return bool(db.session.scalar(_sso_linked_statement(), {"user_id": user_id}))
