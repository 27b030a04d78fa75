"""The outbox handler for "scim" messages: make the CQMR hold what the wizard wants for one
person (their User, and their organization's Group), idempotently by externalId."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scim2_models import SearchRequest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Membership, Organization, ProvisioningState, User
from ..models.base import utcnow
from ..models.provisioning import FAILED, PROVISIONED
from .client import RequestsSCIMClient, cqmr_client, describe
from .readiness import group_name, organization_group_id, scim_user

log = logging.getLogger(__name__)


class ProvisioningFailed(Exception):
    """The CQMR refused or did not answer; the message says how (with its HTTP status), for the
    outbox's record of the failed attempt."""


@dataclass(frozen=True)
class Plan:
    """What one delivery sends, read from the database before any call is made."""

    user_id: int
    organization_id: int
    digest: str
    active: bool
    user: dict[str, Any]
    group_name: str


def _plan(session: Session, user_id: int) -> Plan | None:
    state = session.scalar(select(ProvisioningState).where(ProvisioningState.user_id == user_id))
    if state is None:
        return None
    user = session.get(User, user_id)
    org = session.get(Organization, state.organization_id)
    roles = ()
    if state.desired_active:
        membership = session.scalar(select(Membership).where(Membership.user_id == user_id))
        roles = tuple(sorted(membership.roles)) if membership else ()
    body = scim_user(user, state.user_name, active=state.desired_active, roles=roles)
    return Plan(
        user_id, state.organization_id, state.desired_digest, state.desired_active, body, group_name(org)
    )


def find(client: RequestsSCIMClient, resource_type: str, external_id: str):
    """The resource of this type with this externalId in the CQMR, or None."""
    model = client.get_resource_model(resource_type)
    found = client.query(model, query_parameters=SearchRequest(filter=f'externalId eq "{external_id}"'))
    return (found.resources or [None])[0]


def put(client: RequestsSCIMClient, resource_type: str, body: dict[str, Any], existing) -> str:
    """Replace the existing resource, or create it; return its SCIM id."""
    model = client.get_resource_model(resource_type)
    resource = model.model_validate(body)
    if existing is None:
        return client.create(resource).id
    resource.id = existing.id
    return client.replace(resource).id


def push_user(client: RequestsSCIMClient, plan: Plan) -> str | None:
    """Create, update or deactivate the User; None when there is nobody to deactivate."""
    existing = find(client, "User", plan.user["externalId"])
    if existing is None and not plan.active:
        return None
    return put(client, "User", plan.user, existing)


def push_group(session: Session, client: RequestsSCIMClient, organization_id: int, name: str) -> None:
    """Make the organization's Group list exactly its active provisioned members."""
    members = session.scalars(
        select(ProvisioningState.cqmr_id).where(
            ProvisioningState.organization_id == organization_id,
            ProvisioningState.desired_active,
            ProvisioningState.cqmr_id.is_not(None),
        )
    ).all()
    session.rollback()  # no transaction stays open while the CQMR answers
    external_id = organization_group_id(organization_id)
    existing = find(client, "Group", external_id)
    if existing is None and not members:
        return
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": external_id,
        "displayName": name,
        "members": [{"value": m, "type": "User"} for m in sorted(members)],
    }
    put(client, "Group", body, existing)


def _record(session: Session, user_id: int, **values: Any) -> ProvisioningState | None:
    state = session.scalar(select(ProvisioningState).where(ProvisioningState.user_id == user_id))
    if state is not None:
        for name, value in values.items():
            setattr(state, name, value)
    return state


def deliver(payload: dict[str, Any]) -> None:
    """Outbox handler: send one person's wanted state to the CQMR; raise on failure (retried).
    It works in a session of its own, and holds no transaction while the CQMR answers."""
    user_id = int(payload["user_id"])
    with Session(db.engine, expire_on_commit=False) as session:
        plan = _plan(session, user_id)
        session.rollback()
        if plan is None:
            return
        try:
            client = cqmr_client()
            cqmr_id = push_user(client, plan)
            state = _record(session, user_id, attempted_at=utcnow())
            if state is not None and cqmr_id is not None:
                state.cqmr_id = cqmr_id
            session.commit()
            push_group(session, client, plan.organization_id, plan.group_name)
        except Exception as error:
            session.rollback()
            reason = describe(error)
            _record(session, user_id, state=FAILED, last_error=reason, attempted_at=utcnow())
            session.commit()
            raise ProvisioningFailed(reason) from error
        state = _record(session, user_id)
        # A change queued meanwhile keeps it pending: its own message brings it up to date.
        if state is not None and state.desired_digest == plan.digest:
            state.state = PROVISIONED
            state.last_error = None
            state.provisioned_at = utcnow()
        session.commit()
    log.info(
        "CQMR holds user %s (%s)",
        user_id,
        "active" if plan.active else "inactive",
        extra={"subject_user_id": user_id, "cqmr_id": cqmr_id, "active": plan.active},
    )
