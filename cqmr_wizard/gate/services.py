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
from ..sso.services import identity_for
from ..tasks import TASKS, Facts, load_facts, task_statuses
from ..tasks.engine import missing_required


@dataclass(frozen=True)
class MissingTask:
    key: str
    title: str
    status: str
    who: str  # who must do it, as the person reads it


class GateClosed(Exception):
    """Required tasks are not complete."""

    def __init__(self, missing: list[MissingTask]) -> None:
        super().__init__([m.key for m in missing])
        self.missing = missing


class GateNotConfigured(Exception):
    """No CQMR address is configured."""


def blocking(facts: Facts, membership: Membership) -> list[MissingTask]:
    """What keeps this member out of the CQMR, from their facts alone (provisioning asks too)."""
    missing = []
    if facts.organization is not None and facts.organization.suspended:
        reason = membership.organization.suspension_reason or "no reason recorded"
        missing.append(
            MissingTask(
                "suspended",
                f"Your organization is suspended by the registry ({reason})",
                "Suspended",
                "The CQMR program team",
            )
        )
    for state in missing_required(task_statuses(facts, TASKS)):
        if state.task.scope == "user":
            who = "You"
        elif state.task.actionable(facts):
            who = f"You, as {state.task.done_by}"
        else:
            who = state.task.done_by[0].upper() + state.task.done_by[1:]
        missing.append(MissingTask(state.task.key, state.task.title, state.status.value, who))
    if not membership.roles:
        # The CQMR grants access by role: someone whose last role was taken away has none.
        missing.append(
            MissingTask(
                "role",
                "Be given a role in your organization",
                "Not started",
                "Your organization's administrator",
            )
        )
    return missing


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
        identity = identity_for(user.id, config["OIDC_ISSUER"])
        params = {"iss": config["OIDC_ISSUER"]}
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
