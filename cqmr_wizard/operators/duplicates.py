"""Organizations that share an Employer Identification Number: one onboarding record too many."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import Select, bindparam, select

from ..extensions import db
from ..models import Organization


@cache
def _holders_statement() -> Select:
    """Who holds each of some EINs (built once: every view of the dashboard runs it)."""
    return (
        select(Organization.tax_id, Organization.id)
        .where(Organization.tax_id.in_(bindparam("tax_ids", expanding=True)))
        .order_by(Organization.tax_id, Organization.id)
    )


def shared_tax_ids(tax_ids: Iterable[str | None]) -> dict[str, list[int]]:
    """Of the given EINs (a page's organizations'), each held by more than one organization, with
    those organizations' ids. Looked up by index for the page alone: grouping every organization
    in the registry would make each view of the dashboard cost more as the registry grows."""
    wanted = sorted({tax_id for tax_id in tax_ids if tax_id})
    found: dict[str, list[int]] = {}
    for tax_id, org_id in db.session.execute(_holders_statement(), {"tax_ids": wanted}):
        found.setdefault(tax_id, []).append(org_id)
    return {tax_id: ids for tax_id, ids in found.items() if len(ids) > 1}
