"""The gate into the CQMR: computed afresh from the database on every request, never from a
stored "done" flag, and every opening and refusal recorded in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Membership, User
from ..sso import protocol
from ..sso.services import identity_for
from ..tasks import Facts, load_facts
from ..tasks.gate_rule import (
    ACCESS_REVIEW,
    DEACTIVATED,
    EMAIL,
    OFFBOARDED,
    ROLE,
    SUSPENDED,
    Blocker,
    gate_blockers,
)
from ..team.review_facts import due_dates
from ..template_filters import when_text


@dataclass(frozen=True)
class MissingTask:
    key: str
    title: str
    status: str
    who: str  # who must do it, as the person reads it


# The rules that are not tasks: (title, status, who must do it), as the refusal page says them.
RULES = {
    DEACTIVATED: ("Have your account reactivated", "Deactivated", "Your organization's administrator"),
    EMAIL: ("Confirm your email address", "Not started", "You"),
    ROLE: ("Be given a role in your organization", "Not started", "Your organization's administrator"),
}


class GateClosed(Exception):
    """Required tasks are not complete."""

    def __init__(self, missing: list[MissingTask]) -> None:
        super().__init__([m.key for m in missing])
        self.missing = missing


class GateNotConfigured(Exception):
    """No CQMR address is configured."""


def blocking(facts: Facts, membership: Membership) -> list[MissingTask]:
    """What keeps this member out of the CQMR (the gate's rule, tasks/gate_rule.py), in words."""
    blockers = gate_blockers(
        facts, has_role=bool(membership.roles), deactivated=membership.user.deactivated_at is not None
    )
    return [_worded(blocker, facts, membership) for blocker in blockers]


def _worded(blocker: Blocker, facts: Facts, membership: Membership) -> MissingTask:
    """The blocker as the refusal page names it: what, where it stands, and who must do it."""
    if blocker.state is not None:
        task = blocker.state.task
        if task.scope == "user":
            who = "You"
        elif task.actionable(facts):
            who = f"You, as {task.done_by}"
        else:
            who = task.done_by[0].upper() + task.done_by[1:]
        title = task.title
        if task.key == "org_agreements" and facts.organization is not None and not facts.organization.signers:
            # The signer who signed before may have left: the signatures stand, a new one signs.
            title = (
                f"{title}: first, an administrator names an authorized signer (your organization has none)"
            )
        return MissingTask(task.key, title, blocker.state.status.value, who)
    if blocker.key == SUSPENDED:
        reason = membership.organization.suspension_reason or "no reason recorded"
        return MissingTask(
            SUSPENDED,
            f"Your organization is suspended by the registry ({reason})",
            "Suspended",
            "The CQMR program team",
        )
    if blocker.key == OFFBOARDED:
        org = membership.organization
        reason = org.offboarding_reason or "no reason recorded"
        return MissingTask(
            OFFBOARDED,
            f"Your organization's participation in the CQMR ended on {when_text(org.offboarded_at)} ({reason})",
            "Ended",
            "The CQMR program team",
        )
    if blocker.key == ACCESS_REVIEW:
        due = due_dates([membership.organization])[membership.organization_id]
        return MissingTask(
            ACCESS_REVIEW,
            f"Your organization's yearly access review was due by {when_text(due)}: an administrator "
            "confirms who still needs access to the CQMR on the team page",
            "Overdue",
            "You, as your organization's administrator"
            if facts.is_admin
            else "Your organization's administrator",
        )
    return MissingTask(blocker.key, *RULES[blocker.key])


def missing_tasks(user: User, membership: Membership) -> list[MissingTask]:
    """The required tasks not yet complete, for the organization and for this person."""
    return blocking(load_facts(user, membership), membership)


def destination(user: User) -> str:
    """Where the CQMR starts: OIDC third-party-initiated login when configured, else a plain URL."""
    config = current_app.config
    initiate = config.get("CQMR_INITIATE_LOGIN_URI")
    if initiate:
        # The CQMR knows the person by their own OneHealthPort subject, never by their email:
        # an email would name whoever holds that address at OneHealthPort.
        issuer = protocol.issuer()
        identity = identity_for(user.id, issuer)
        params = {"iss": issuer}
        if identity is not None:
            params["login_hint"] = identity.subject
        if config.get("CQMR_TARGET_LINK_URI"):
            params["target_link_uri"] = config["CQMR_TARGET_LINK_URI"]
        parts = urlsplit(initiate)
        query = urlencode([*parse_qsl(parts.query), *params.items()])
        return urlunsplit(parts._replace(query=query))
    if config.get("CQMR_URL"):
        return config["CQMR_URL"]
    raise GateNotConfigured()


def check(user: User, membership: Membership) -> list[MissingTask]:
    """Return what is missing, recording a refusal when something is."""
    missing = missing_tasks(user, membership)
    if missing:
        audit.record(
            AuditEventType.GATE_REFUSED,
            actor_id=user.id,
            organization_id=membership.organization_id,
            subject_user_id=user.id,
            details={"missing": [m.key for m in missing]},
        )
        db.session.commit()
    return missing


def open_gate(user: User, membership: Membership) -> str:
    """Return the CQMR address if every required task is complete; raise GateClosed otherwise."""
    missing = check(user, membership)
    if missing:
        raise GateClosed(missing)
    try:
        url = destination(user)
    except GateNotConfigured:
        audit.record(
            AuditEventType.GATE_UNAVAILABLE,
            actor_id=user.id,
            subject_user_id=user.id,
            organization_id=membership.organization_id,
        )
        db.session.commit()
        raise
    audit.record(
        AuditEventType.GATE_REDIRECTED,
        actor_id=user.id,
        organization_id=membership.organization_id,
        subject_user_id=user.id,
        details={"destination": url},
    )
    db.session.commit()
    return url
