"""`flask audit …` commands."""

import click
from flask.cli import AppGroup

from . import verify_chain

audit_cli = AppGroup("audit", help="Audit log commands.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken row."""
    result = verify_chain()
    if result.ok:
        click.echo(f"Audit chain intact: {result.checked} events verified.")
        return
    click.echo(
        f"Audit chain BROKEN at event {result.first_broken_id}: {result.reason}. "
        f"{result.checked} events before it verified.",
        err=True,
    )
    raise SystemExit(1)
