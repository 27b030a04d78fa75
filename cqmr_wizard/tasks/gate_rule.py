"""The gate's rule, the one meaning of "ready": what keeps a member out of the CQMR, from facts
alone. The gate words it (gate/services.py), provisioning asks it for many members at once, and
the progress projection stores its answer as each member's `ready`, so the three cannot disagree.
A rule about who may enter is added here and nowhere else.

An organization onboards until every required organization task is first completed; then it is
live (`Organization.went_live_at`), and `ORGANIZATION_RULE` says which of its own conditions
still close the gate: onboarding happens once, while what a live organization must keep true is
asked for as long as it takes part. A member's own conditions (an active account, a verified
email, their own required tasks, a role) are asked of everyone, always."""

from __future__ import annotations

from dataclasses import dataclass

from .definitions import TASKS
from .engine import Facts, OrganizationFacts, TaskDefinition, TaskState, missing_required, task_statuses

DEACTIVATED = "deactivated"
EMAIL = "email"
SUSPENDED = "suspended"
OFFBOARDED = "offboarded"
ACCESS_REVIEW = "access_review"
ROLE = "role"


@dataclass(frozen=True)
class Phases:
    """Whether a condition closes the gate while the organization onboards, and once it is live."""

    onboarding: bool
    live: bool

    def closes(self, live: bool) -> bool:
        return self.live if live else self.onboarding


# Every condition of the organization's own: its state, and each required organization task
# (tests/test_gate_rule.py fails when a required organization task is missing here).
ORGANIZATION_RULE: dict[str, Phases] = {
    SUSPENDED: Phases(onboarding=True, live=True),
    OFFBOARDED: Phases(onboarding=True, live=True),
    "eligibility": Phases(onboarding=True, live=False),
    "onehealthport": Phases(onboarding=True, live=True),  # its OneHealthPort link stays in place
    "details": Phases(onboarding=True, live=False),
    "team": Phases(onboarding=True, live=False),  # an open invitation, a signer being named
    "org_agreements": Phases(onboarding=True, live=True),  # the agreements stay in force
    # The yearly access review, overdue past its grace period: only a live organization is
    # reviewed, and the fact is set only with ACCESS_REVIEW_ENFORCE on (team/review_facts.py).
    ACCESS_REVIEW: Phases(onboarding=False, live=True),
}


# The agreement tasks whose requirement an earlier signature still meets until a new version's
# date to sign by (per organization, after an extension; per person), and in which phases: an
# onboarding organization signs the current version, while a person's own earlier acceptance
# keeps counting in its window whatever their organization's phase.
IN_FORCE_ENOUGH: dict[str, Phases] = {
    "org_agreements": Phases(onboarding=False, live=True),
    "user_agreements": Phases(onboarding=True, live=True),
}


@dataclass(frozen=True)
class Blocker:
    """One thing that keeps a member out: a rule's key, or a required task not completed."""

    key: str
    state: TaskState | None = None  # the task's state, for a task


def asked(task: TaskDefinition, live: bool) -> bool:
    """Whether the gate asks for this task in the organization's phase (onboarding or live);
    an optional task never holds anyone up, whatever the phase."""
    return task.scope != "organization" or not task.required or ORGANIZATION_RULE[task.key].closes(live)


def in_force(task: TaskDefinition, facts: Facts, live: bool) -> bool:
    """Whether an agreement task not completed still holds: an earlier signature within the new
    version's window, in a phase that accepts it."""
    rule = IN_FORCE_ENOUGH.get(task.key)
    return rule is not None and rule.closes(live) and task.in_force is not None and task.in_force(facts)


def gate_blockers(facts: Facts, *, has_role: bool, deactivated: bool) -> list[Blocker]:
    """What keeps this person out of the CQMR, in the order the gate names it; none: ready."""
    blockers = []
    if deactivated:
        blockers.append(Blocker(DEACTIVATED))
    if not facts.email_verified:
        blockers.append(Blocker(EMAIL))
    org = facts.organization
    live = org is not None and org.live
    if org is not None:
        states = (
            (SUSPENDED, org.suspended),
            (OFFBOARDED, org.offboarded),
            (ACCESS_REVIEW, org.access_review_overdue),
        )
        for key, holds in states:
            if holds and ORGANIZATION_RULE[key].closes(live):
                blockers.append(Blocker(key))
    # A task the phase does not ask about counts as met for the tasks that depend on it.
    tasks = [task for task in TASKS if asked(task, live)]
    met = [task.key for task in TASKS if not asked(task, live)]
    blockers.extend(
        Blocker(s.task.key, s)
        for s in missing_required(task_statuses(facts, tasks, met))
        if not in_force(s.task, facts, live)
    )
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
