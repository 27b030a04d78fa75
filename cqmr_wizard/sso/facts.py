"""The task list's facts about OneHealthPort identities, in bulk (one query)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from ..extensions import db
from ..models import OidcIdentity
from . import protocol


def _at_configured_provider():
    """Identities at the configured provider; any provider when single sign-on is off."""
    issuer = protocol.issuer()
    return OidcIdentity.issuer == issuer if issuer else True


def linked_user_ids(user_ids: Collection[int]) -> set[int]:
    """Those of these people whose own OneHealthPort account is connected."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            select(OidcIdentity.user_id).where(OidcIdentity.user_id.in_(user_ids), _at_configured_provider())
        )
    )
