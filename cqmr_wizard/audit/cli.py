"""`flask audit …` commands: verify, seal (verify what is new and checkpoint it), checkpoint."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from . import verifications
from .checkpoints import check_against, checkpoint_now, read_checkpoints, write_checkpoint

audit_cli = AppGroup("audit", help="Audit log commands.")


def _report_broken(run) -> None:
    click.echo(
        f"Audit chain BROKEN at event {run.broken_id}: {run.reason}. "
        f"{run.checked} events before it verified.",
        err=True,
    )


@audit_cli.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Another checkpoint file (a copy kept elsewhere) instead of AUDIT_CHECKPOINT_FILE.",
)
@click.option(
    "--no-checkpoint",
    is_flag=True,
    help="Check the chain alone (a cut-off tail then goes unnoticed).",
)
def verify_command(checkpoint_file: str | None, no_checkpoint: bool) -> None:
    """Check the whole chain, and that the log still reaches every checkpoint of
    AUDIT_CHECKPOINT_FILE; exit 1 naming the first broken row, or the missing rows."""
    if checkpoint_file and no_checkpoint:
        raise click.UsageError("Give --checkpoint FILE or --no-checkpoint, not both.")
    run = verifications.verify_all()
    if not no_checkpoint and not checkpoint_file:
        configured = current_app.config["AUDIT_CHECKPOINT_FILE"]
        # No file yet: nothing was ever appended (or the file is gone, which the chain cannot show).
        checkpoint_file = configured if Path(configured).is_file() else None
        if checkpoint_file is None:
            click.echo(f"No checkpoint file at {configured}: the chain alone was checked.", err=True)
    problems = check_against(read_checkpoints(checkpoint_file)) if checkpoint_file else []
    if run.ok:
        click.echo(f"Audit chain intact: {run.checked} events verified.")
    else:
        _report_broken(run)
    for problem in problems:
        click.echo(problem, err=True)
    if not run.ok or problems:
        raise SystemExit(1)
    if checkpoint_file:
        click.echo(f"The log reaches every checkpoint in {checkpoint_file}.")


@audit_cli.command("seal")
def seal_command() -> None:
    """Verify the events appended since the last check and write a checkpoint of them (cron)."""
    run = verifications.verify_new()
    if run is None or not run.ok:
        if run is not None:
            _report_broken(run)
            raise SystemExit(1)
        click.echo("The audit log is empty; nothing to seal.")
        return
    if run.last_id:
        write_checkpoint(current_app.config["AUDIT_CHECKPOINT_FILE"], run.last_id, run.last_hash)
    click.echo(f"Audit chain verified through event {run.last_id}; checkpoint written.")


@audit_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Append the chain's current end (last id, its link, time) to AUDIT_CHECKPOINT_FILE."""
    path = current_app.config["AUDIT_CHECKPOINT_FILE"]
    checkpoint = checkpoint_now(path)
    if checkpoint is None:
        click.echo("The audit log is empty; no checkpoint written.")
        return
    click.echo(f"Checkpoint written to {path}: event {checkpoint.last_id} at {checkpoint.at}.")
