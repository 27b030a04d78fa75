"""`flask progress verify` (the projection equals a live computation) and `flask progress rebuild`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Membership, Organization
from ..models.progress import MemberProgress, MemberTaskStatus, OrganizationProgress, OrganizationTaskStatus
from .expected import Expected, chunks, expected_members, expected_organizations
from .projection import rebuild, refresh_due


def _stored(model, status_model, key: str, ids: list[int]) -> dict[int, Expected]:
    column = getattr(model, key)
    rows = {
        getattr(row, key): Expected({c.key: getattr(row, c.key) for c in model.__table__.columns})
        for row in db.session.scalars(select(model).where(column.in_(ids)))
    }
    for owner, task_key, status in db.session.execute(
        select(getattr(status_model, key), status_model.task_key, status_model.status).where(
            getattr(status_model, key).in_(ids)
        )
    ):
        rows.setdefault(owner, Expected({})).statuses[task_key] = status
    return rows


def _compare(label: str, stored: dict[int, Expected], live: dict[int, Expected]) -> Iterator[str]:
    for owner in sorted(set(stored) | set(live)):
        if owner not in stored:
            yield f"{label} {owner}: missing from the projection"
        elif owner not in live:
            yield f"{label} {owner}: in the projection but not live"
        else:
            for name, value in live[owner].row.items():
                if stored[owner].row.get(name) != value:
                    yield f"{label} {owner}: {name} is {stored[owner].row.get(name)!r}, live {value!r}"
            for task, status in live[owner].statuses.items():
                if stored[owner].statuses.get(task) != status:
                    yield f"{label} {owner}: task {task} is {stored[owner].statuses.get(task)}, live {status}"
            for task in set(stored[owner].statuses) - set(live[owner].statuses):
                yield f"{label} {owner}: task {task} is in the projection but not live"


def differences() -> Iterator[str]:
    """Every difference between the projection and a live computation, named (after the rows
    that time alone made due are recomputed: those are not missed updates)."""
    refresh_due()
    users = set(db.session.scalars(select(Membership.user_id))) | set(
        db.session.scalars(select(MemberProgress.user_id))
    )
    ready: Counter[int] = Counter()
    for ids in chunks(users):
        live = expected_members(ids)
        ready.update(e.row["organization_id"] for e in live.values() if e.row["ready"])
        yield from _compare("member (user)", _stored(MemberProgress, MemberTaskStatus, "user_id", ids), live)
    orgs = set(db.session.scalars(select(Organization.id))) | set(
        db.session.scalars(select(OrganizationProgress.organization_id))
    )
    for ids in chunks(orgs):
        stored = _stored(OrganizationProgress, OrganizationTaskStatus, "organization_id", ids)
        yield from _compare("organization", stored, expected_organizations(ids, ready))


progress_cli = AppGroup("progress", help="The progress projection the lists read.")


@progress_cli.command("verify")
def verify_command() -> None:
    """Compare the projection with a live computation; name each difference (exit 1 if any)."""
    found = 0
    for line in differences():
        click.echo(line)
        found += 1
    db.session.rollback()
    if found:
        click.echo(f"{found} difference(s): run `flask progress rebuild`.")
        raise SystemExit(1)
    click.echo("The progress projection matches the live facts.")


@progress_cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute the whole projection from live facts."""
    rebuild()
    click.echo("The progress projection was rebuilt.")
