"""Who is signed in: the person, their membership, its organization and roles, read together."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Membership, User

# Where the membership read with the person is kept on the instance for this request.
_MEMBERSHIP = "_signed_in_membership"


@cache
def _signed_in_statement() -> Select:
    # Built once: every signed-in request runs it, and building a statement costs more than the
    # database takes to answer it.
    return (
        select(User, Membership)
        .outerjoin(Membership, Membership.user_id == User.id)
        .options(joinedload(Membership.organization), joinedload(Membership.role_rows))
        .where(User.id == bindparam("user_id"))
    )


def load_signed_in(user_id: int) -> User | None:
    """The active person with this id, their membership (organization and roles) read in the same
    statement: every signed-in page needs both, and one round trip to the database costs less."""
    row = db.session.execute(_signed_in_statement(), {"user_id": user_id}).unique().first()
    if row is None or not row.User.is_active:
        return None
    user, membership = row
    setattr(user, _MEMBERSHIP, membership)
    return user


def membership_of(user: User) -> Membership | None:
    """The person's membership: the one read with them, or from the database (a person signed in
    during this request was not read by `load_signed_in`)."""
    if _MEMBERSHIP in vars(user):
        return vars(user)[_MEMBERSHIP]
    return db.session.scalar(
        select(Membership).options(joinedload(Membership.organization)).where(Membership.user_id == user.id)
    )
