"""The team page's list: members and open invitations, filtered, counted and paginated in SQL.

Readiness and each member's task statuses are read from the progress projection, which the task
engine writes from the same pure task function as everyone's task list, so the two never
disagree; the page costs the same statements whatever the organization's size."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, select

from ..extensions import db
from ..like import contains_pattern
from ..models.base import utcnow
from ..models.organizations import ROLES
from ..models.progress import MemberProgress
from ..progress import Status
from .roster_statements import statements

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
    role = role if role in ROLES else None
    readiness = readiness if readiness in READINESS_FILTERS else None
    needle = (text or "").strip().lower()[:100]
    params = {
        "organization_id": organization_id,
        "role": role,
        "role_word": f"% {role} %",
        "pattern": contains_pattern(needle),
    }
    count_statement, page_statement = statements(role is not None, readiness, bool(needle))
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
