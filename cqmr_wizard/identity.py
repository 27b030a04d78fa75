"""Who is signed in: the person, their membership, its organization and roles, read together."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Membership, User

# Where the membership read with the person is kept on the instance for this request.
_MEMBERSHIP = "_signed_in_membership"


def load_signed_in(user_id: int) -> User | None:
    """The active person with this id, their membership (organization and roles) read in the same
    statement: every signed-in page needs both, and one round trip to the database costs less."""
    row = (
        db.session.execute(
            select(User, Membership)
            .outerjoin(Membership, Membership.user_id == User.id)
            .options(joinedload(Membership.organization), joinedload(Membership.role_rows))
            .where(User.id == user_id)
        )
        .unique()
        .first()
    )
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
