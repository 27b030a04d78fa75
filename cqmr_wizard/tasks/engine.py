"""The onboarding task list: statuses computed by one pure function from database facts.

A task is declared once (`TaskDefinition`); its progress is a pure function of `Facts`.
Dependencies turn a task into "Cannot start yet" until every task it needs is completed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from ..agreements.standing import AgreementFact
from ..progress import Status  # below the features: their pages show statuses too


@dataclass(frozen=True)
class OrganizationFacts:
    """What the database says about the organization's onboarding."""

    eligibility: str | None = None
    details_answered: frozenset[str] = frozenset()
    details_confirmed: bool = False
    # The organization's OneHealthPort organization id, once connected.
    ohp_org_id: str | None = None
    # The team: active members and role holders; invitations in all and still open.
    members: int = 0
    admins: int = 0
    signers: int = 0
    invitations: int = 0
    pending_invitations: int = 0
    # Suspended by a registry operator: the gate to the CQMR stays shut.
    suspended: bool = False
    # Went live (every required organization task was once completed): from then on the gate
    # asks only what a live organization must keep true (tasks/gate_rule.py).
    live: bool = False
    # Its participation was ended by the registry (offboarded): the gate stays shut.
    offboarded: bool = False
    # Its yearly access review is overdue past the grace period, with ACCESS_REVIEW_ENFORCE on
    # (never set otherwise, so the rule table's "live: yes" holds only when enforced).
    access_review_overdue: bool = False
    # Training materials published, and how many of them a member they are meant for reviewed.
    training_items: int = 0
    training_reviewed: int = 0
    # The organization agreements (OPA, MiHIN Terms), one fact each.
    agreements: tuple[AgreementFact, ...] = ()


@dataclass(frozen=True)
class Facts:
    """Everything task statuses depend on, gathered by a fixed number of queries."""

    email_verified: bool = False
    is_admin: bool = False
    organization: OrganizationFacts | None = None
    # Two-step verification: an active authenticator app or a passkey, an app being set up,
    # recovery codes saved; and which kinds are held (for the operator's console).
    mfa_enrolled: bool = False
    mfa_app: bool = False
    mfa_passkey: bool = False
    mfa_pending: bool = False
    recovery_codes_saved: bool = False
    # Holds the Authorized signer role; the user agreements this person signed.
    is_signer: bool = False
    user_agreements: tuple[AgreementFact, ...] = ()
    # A OneHealthPort identity is linked to the account.
    sso_linked: bool = False


@dataclass(frozen=True)
class TaskDefinition:
    key: str
    title: str
    scope: str  # "organization" or "user"
    progress: Callable[[Facts], Status]
    endpoint: str
    hint: str = ""
    required: bool = True
    depends_on: tuple[str, ...] = ()
    # Who may work on it; others see its status only.
    actionable: Callable[[Facts], bool] = field(default=lambda facts: True)
    # Who does an organization task, as the gate's refusal page names them.
    done_by: str = "your organization's administrator"
    # Whether what the task asks still holds while it is not completed (an earlier agreement
    # signature within a new version's date to sign by); the gate's rule says in which phases.
    in_force: Callable[[Facts], bool] | None = None


@dataclass(frozen=True)
class TaskState:
    task: TaskDefinition
    status: Status
    can_act: bool

    @property
    def completed(self) -> bool:
        return self.status is Status.COMPLETED


def task_statuses(
    facts: Facts, tasks: Sequence[TaskDefinition], done_elsewhere: Collection[str] = ()
) -> list[TaskState]:
    """Return each task's state, in declaration order, from the facts alone; a dependency on a
    task named in `done_elsewhere` (not among `tasks`) counts as met."""
    done: dict[str, bool] = dict.fromkeys(done_elsewhere, True)
    states: list[TaskState] = []
    for task in tasks:
        if any(not done.get(dep, False) for dep in task.depends_on):
            status = Status.CANNOT_START
        else:
            status = task.progress(facts)
        done[task.key] = status is Status.COMPLETED
        states.append(TaskState(task, status, status is not Status.CANNOT_START and task.actionable(facts)))
    return states


def missing_required(states: Sequence[TaskState]) -> list[TaskState]:
    """The required tasks that are not completed."""
    return [s for s in states if s.task.required and not s.completed]
