"""The team page's two statements, the count and the page, for each combination of filters:
built once per process, with every value a request brings as a bound parameter."""

from __future__ import annotations

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

from ..models import Invitation, MembershipRole, User
from ..models.base import UTCDateTime
from ..models.progress import MemberProgress, MemberTaskStatus

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
def statements(role: bool, readiness: str | None, search: bool) -> tuple[Select, Select]:
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
