"""The task list's facts about OneHealthPort identities, in bulk (one query)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from ..extensions import db
from ..models import OidcIdentity


def linked_user_ids(user_ids: Collection[int]) -> set[int]:
    """Those of these people who linked a OneHealthPort identity."""
    if not user_ids:
        return set()
    return set(db.session.scalars(select(OidcIdentity.user_id).where(OidcIdentity.user_id.in_(user_ids))))
