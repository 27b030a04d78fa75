"""Onboarding facts for the task list: which of the organization's details are answered, read
from its own row (no query)."""

from __future__ import annotations

from ..models import Organization

# Detail fields that must be answered; NPI is optional.
REQUIRED_DETAILS = frozenset({"legal_name", "organization_type", "tax_id", "address", "phone"})


def details_answered(org: Organization) -> frozenset[str]:
    """The detail fields the organization has answered (the address once every line is given)."""
    answered = set()
    for name in ("legal_name", "organization_type", "tax_id", "phone"):
        if getattr(org, name):
            answered.add(name)
    if org.address_line1 and org.city and org.state and org.postal_code:
        answered.add("address")
    if org.npi:
        answered.add("npi")
    return frozenset(answered)
