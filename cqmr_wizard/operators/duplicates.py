"""Organizations that share an Employer Identification Number: one onboarding record too many."""

from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..models import Organization


def shared_tax_ids() -> dict[str, list[int]]:
    """Each EIN held by more than one organization, with those organizations' ids."""
    shared = (
        select(Organization.tax_id)
        .where(Organization.tax_id.is_not(None))
        .group_by(Organization.tax_id)
        .having(func.count(Organization.id) > 1)
    )
    rows = db.session.execute(
        select(Organization.tax_id, Organization.id)
        .where(Organization.tax_id.in_(shared))
        .order_by(Organization.tax_id, Organization.id)
    ).all()
    found: dict[str, list[int]] = {}
    for tax_id, org_id in rows:
        found.setdefault(tax_id, []).append(org_id)
    return found
