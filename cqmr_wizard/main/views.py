"""Landing page, the task list and help."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow, fully_authenticated
from ..agreements.changes import new_versions
from ..agreements.facts import agreement_facts
from ..auth.forms import ConfirmForm
from ..models.base import utcnow
from ..outages import keeps_working
from ..tasks.definitions import agreements_in_force
from ..tasks.engine import TaskState, missing_required
from ..tasks.gate_rule import IN_FORCE_ENOUGH, asked
from ..tasks.task_list import TeamNotes, projected_states, team_notes
from ..team.passkey_policy import passkey_due_for
from ..team.review_facts import reminder_days
from . import bp

# The order the start page tells people: two-step verification comes first (it is forced at
# first sign-in), the organization's tasks next, each person's own OneHealthPort link and
# agreements last.
DISPLAY_ORDER = (
    "mfa",
    "eligibility",
    "onehealthport",
    "details",
    "team",
    "org_agreements",
    "ohp_account",
    "user_agreements",
    "training",
)


def _display_position(state: TaskState) -> int:
    key = state.task.key
    return DISPLAY_ORDER.index(key) if key in DISPLAY_ORDER else len(DISPLAY_ORDER)


def review_due(team: TeamNotes | None) -> datetime | None:
    """The access review's due date, once the first reminder is due (or it is overdue)."""
    due = team.access_review_due_at if team is not None else None
    if due is None:
        return None
    days = reminder_days()
    return due if due - utcnow() <= timedelta(days=days[0] if days else 0) else None


@bp.route("/")
@allow(Access.PUBLIC)
@keeps_working
def index():
    if fully_authenticated():
        return redirect(url_for("main.tasks"))
    return render_template("main/index.html")


@bp.route("/tasks")
@allow(Access.USER)
def tasks():
    if current_user.is_operator:  # operators are never members; their home is the console
        return redirect(url_for("operators.dashboard"))
    states = sorted(projected_states(current_user, g.membership), key=_display_position)
    required = [s for s in states if s.task.required]
    membership = g.membership
    live = membership is not None and membership.organization.went_live_at is not None
    admin = membership is not None and membership.has_role("admin")
    org_ids = [membership.organization_id] if membership is not None else []
    org_facts, own = agreement_facts(org_ids, [current_user.id])
    organization_changes = new_versions(org_facts[org_ids[0]]) if org_ids else []
    own_changes = new_versions(own[current_user.id])
    # An agreement re-opened by a new version stays to do, but blocks nobody until its date.
    in_force = {
        "org_agreements": bool(org_ids)
        and IN_FORCE_ENOUGH["org_agreements"].closes(live)
        and agreements_in_force(org_facts[org_ids[0]]),
        "user_agreements": agreements_in_force(own[current_user.id]),
    }
    team = team_notes(membership.organization_id) if admin else None
    return render_template(
        "main/tasks.html",
        organization_changes=organization_changes,
        own_changes=own_changes,
        states=states,
        # The one task to do next: the first required one this person can work on.
        next_state=next((s for s in required if s.can_act and not s.completed), None),
        completed=sum(1 for s in required if s.completed),
        # What the gate asks for in the organization's phase: a live one is not asked its
        # onboarding tasks again (tasks/gate_rule.py).
        missing=[s for s in missing_required(states) if asked(s.task, live) and not in_force.get(s.task.key)],
        total=len(required),
        membership=membership,
        live=live,
        team=team,
        review_due=review_due(team),
        # The organization requires passkeys and this member holds none: add one by this date.
        passkey_due=passkey_due_for(current_user.id, membership.organization if membership else None),
        now=utcnow(),
        form=ConfirmForm(),
    )


@bp.route("/help")
@allow(Access.PUBLIC)
@keeps_working
def help_page():
    return render_template("main/help.html")
