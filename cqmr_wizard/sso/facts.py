"""The task list's fact about a person's own OneHealthPort link (one query, whatever the data)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Membership, OidcIdentity


def _at_configured_provider():
    """Identities at the configured provider; any provider when single sign-on is off."""
    issuer = current_app.config.get("OIDC_ISSUER")
    return OidcIdentity.issuer == issuer if issuer else True


def ohp_linked(user_id: int) -> bool:
    """`ohp_linked` for `Facts`: the person's own OneHealthPort account is connected."""
    found = db.session.scalar(
        select(OidcIdentity.id).where(OidcIdentity.user_id == user_id, _at_configured_provider()).limit(1)
    )
    return found is not None


def ohp_linked_bulk(organization_ids: Sequence[int], in_filter) -> set[int]:
    """The members of these organizations whose OneHealthPort account is connected (one query);
    `in_filter(column, ids)` limits the rows as the caller's other bulk queries do."""
    return set(
        db.session.scalars(
            select(OidcIdentity.user_id)
            .join(Membership, Membership.user_id == OidcIdentity.user_id)
            .where(_at_configured_provider(), in_filter(Membership.organization_id, organization_ids))
        )
    )
