"""The gate's rule, the one meaning of "ready": what keeps a member out of the CQMR, from facts
alone. The gate words it (gate/services.py), provisioning asks it for many members at once, and
the progress projection stores its answer as each member's `ready`, so the three cannot disagree.
A rule about who may enter is added here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass

from .definitions import TASKS
from .engine import Facts, OrganizationFacts, TaskState, missing_required, task_statuses

DEACTIVATED = "deactivated"
EMAIL = "email"
SUSPENDED = "suspended"
ROLE = "role"


@dataclass(frozen=True)
class Blocker:
    """One thing that keeps a member out: a rule's key, or a required task not completed."""

    key: str
    state: TaskState | None = None  # the task's state, for a task


def gate_blockers(facts: Facts, *, has_role: bool, deactivated: bool) -> list[Blocker]:
    """What keeps this person out of the CQMR, in the order the gate names it; none: ready."""
    blockers = []
    if deactivated:
        blockers.append(Blocker(DEACTIVATED))
    if not facts.email_verified:
        blockers.append(Blocker(EMAIL))
    if facts.organization is not None and facts.organization.suspended:
        blockers.append(Blocker(SUSPENDED))
    blockers.extend(Blocker(s.task.key, s) for s in missing_required(task_statuses(facts, TASKS)))
    if not has_role:
        # The CQMR grants access by role: someone whose last role was taken away has none.
        blockers.append(Blocker(ROLE))
    return blockers


def gate_ready(facts: Facts, *, has_role: bool, deactivated: bool) -> bool:
    """Whether the gate would let this person into the CQMR."""
    return not gate_blockers(facts, has_role=has_role, deactivated=deactivated)


def organization_blockers(organization: OrganizationFacts) -> list[str]:
    """The keys of what the organization's own facts keep all its members out by; a member's
    readiness depends on its organization's facts only through whether there are any (a member
    task waits only for required organization tasks: tests/test_task_engine.py checks it)."""
    everything_of_their_own = Facts(email_verified=True, is_admin=True, organization=organization)
    return [
        b.key
        for b in gate_blockers(everything_of_their_own, has_role=True, deactivated=False)
        if b.state is None or b.state.task.scope == "organization"
    ]
