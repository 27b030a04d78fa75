"""`flask provisioning sync`: compare the CQMR's users with who should be there, and fix the drift;
`flask provisioning status`: who is not (yet) as they should be in the CQMR, and why."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from scim2_models import SearchRequest
from sqlalchemy import func, select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Organization, ProvisioningState
from ..models.provisioning import FAILED, PENDING, PROVISIONED
from .client import cqmr_client, describe
from .scim import deliver
from .services import reconcile

provisioning_cli = AppGroup("provisioning", help="Provisioning members into the CQMR (SCIM 2.0).")
PAGE = 100


def cqmr_users(client) -> dict[str, object]:
    """Every User in the CQMR, by externalId (those without one under their SCIM id)."""
    model = client.get_resource_model("User")
    users: dict[str, object] = {}
    start = 1
    while True:
        page = client.query(model, query_parameters=SearchRequest(start_index=start, count=PAGE))
        resources = page.resources or []
        for user in resources:
            users[user.external_id or f"id:{user.id}"] = user
        start += len(resources)
        if not resources or start > (page.total_results or 0):
            return users


def drift(active: bool, user_name: str, state: str, found) -> str | None:
    """How the CQMR's copy differs from what is wanted, as the command reports it; None if not."""
    if active:
        if found is None:
            return "created"
        if found.active is not True:
            return "re-activated"
        if found.user_name != user_name or state != PROVISIONED:
            return "updated"
        return None
    return "deactivated" if found is not None and found.active else None


@provisioning_cli.command("sync")
def sync_command() -> None:
    """Make the CQMR hold exactly the members who are ready, and print each change."""
    if not current_app.config.get("CQMR_SCIM_URL"):
        click.echo("Provisioning is off (CQMR_SCIM_URL is not set): nothing to compare.")
        return
    reconcile(set(db.session.scalars(select(Organization.id))))
    db.session.commit()
    states = db.session.scalars(select(ProvisioningState).order_by(ProvisioningState.user_id)).all()
    wanted = {str(s.user_id): (s.user_id, s.user_name, s.desired_active, s.state) for s in states}
    db.session.rollback()
    try:
        client = cqmr_client()
        found = cqmr_users(client)
    except Exception as error:
        raise click.ClickException(f"The CQMR could not be read: {describe(error)}") from None
    changes = 0
    failures = 0
    for external_id, (user_id, user_name, active, state) in wanted.items():
        change = drift(active, user_name, state, found.get(external_id))
        if change is None:
            continue
        try:
            deliver({"user_id": user_id})
        except Exception as error:
            failures += 1
            click.echo(f"user {user_id} ({user_name}): could not be {change}: {describe(error)}")
            continue
        changes += 1
        click.echo(f"user {user_id} ({user_name}): {change}")
    for external_id, user in found.items():
        if external_id in wanted or not user.active:
            continue
        user.active = False
        client.replace(user)
        changes += 1
        click.echo(
            f"CQMR user {user.user_name} (externalId {user.external_id or '—'}): unknown here, deactivated"
        )
    audit.record(AuditEventType.PROVISIONING_SYNCED, details={"changes": changes, "failures": failures})
    db.session.commit()
    click.echo(
        f"Provisioning sync: {changes} change(s), {failures} failure(s), {len(wanted)} member(s) known."
    )
    if failures:
        raise SystemExit(1)


@provisioning_cli.command("status")
def status_command() -> None:
    """List members whose CQMR record is not up to date (waiting or failed, with the reason);
    exit 1 when a delivery failed, so that monitoring can tell."""
    counts = dict(
        db.session.execute(select(ProvisioningState.state, func.count()).group_by(ProvisioningState.state))
        .tuples()
        .all()
    )
    behind = db.session.scalars(
        select(ProvisioningState)
        .where(ProvisioningState.state != PROVISIONED)
        .order_by(ProvisioningState.organization_id, ProvisioningState.user_id)
    ).all()
    for state in behind:
        what = "activate" if state.desired_active else "deactivate"
        reason = f"\t{state.last_error}" if state.last_error else ""
        click.echo(
            f"user {state.user_id} ({state.user_name}), organization {state.organization_id}: "
            f"{state.state} ({what}){reason}"
        )
    click.echo(
        f"Provisioning: {counts.get(PROVISIONED, 0)} provisioned, {counts.get(PENDING, 0)} pending, "
        f"{counts.get(FAILED, 0)} failed."
    )
    if counts.get(FAILED):
        raise SystemExit(1)
