"""The tasks of CQMR onboarding, declared in the order the task list shows them."""

from __future__ import annotations

from .engine import Facts, Status, TaskDefinition

# Detail fields that must be answered; NPI is optional.
REQUIRED_DETAILS = frozenset(
    {"legal_name", "organization_type", "tax_id", "address", "phone"}
)


def eligibility_progress(facts: Facts) -> Status:
    if facts.organization and facts.organization.eligibility:
        return Status.COMPLETED
    return Status.NOT_STARTED


def details_progress(facts: Facts) -> Status:
    org = facts.organization
    if org is None or not org.details_answered:
        return Status.NOT_STARTED
    if REQUIRED_DETAILS <= org.details_answered and org.details_confirmed:
        return Status.COMPLETED
    return Status.IN_PROGRESS


def _admin(facts: Facts) -> bool:
    return facts.organization is None or facts.is_admin


TASKS: list[TaskDefinition] = [
    TaskDefinition(
        key="eligibility",
        title="Confirm your organization is eligible",
        scope="organization",
        progress=eligibility_progress,
        endpoint="onboarding.eligibility",
        hint="The CQMR is open to HIPAA covered entities and their business associates.",
        actionable=_admin,
    ),
    TaskDefinition(
        key="details",
        title="Give your organization's details",
        scope="organization",
        progress=details_progress,
        endpoint="onboarding.details",
        hint="Legal name, type, Tax ID, address and phone.",
        depends_on=("eligibility",),
        actionable=_admin,
    ),
]
