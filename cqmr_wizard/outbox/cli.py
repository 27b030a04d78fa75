"""`flask outbox …`: deliver queued messages (cron or a long-running worker), list and retry failures."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from . import clock, delivery, failures

outbox_cli = AppGroup("outbox", help="Outgoing messages (mail) waiting in the outbox.")


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, polling every OUTBOX_POLL_INTERVAL seconds.")
@click.option("--batch", type=click.IntRange(1, 1000), default=50, help="Messages claimed at a time.")
def deliver_command(loop: bool, batch: int) -> None:
    """Apply what time made due, then deliver every message that is due, with retries and
    exponential backoff."""
    while True:
        clock.tick()
        total = delivery.Outcome()
        while True:
            outcome = delivery.deliver(limit=batch)
            total.sent += outcome.sent
            total.retrying += outcome.retrying
            total.failed += outcome.failed
            if not (outcome.sent or outcome.retrying or outcome.failed):
                break
        if not loop or total.sent or total.retrying or total.failed:
            click.echo(total.line())
        if not loop:
            return
        time.sleep(current_app.config["OUTBOX_POLL_INTERVAL"])


@outbox_cli.command("failed")
def failed_command() -> None:
    """List messages whose delivery failed, with the error."""
    found = failures.failed_messages()
    for message in found:
        click.echo(
            f"{message.id}\t{message.status}\t{message.attempts} attempts\t{message.summary}\t{message.last_error}"
        )
    if not found:
        click.echo("No failed messages.")


@outbox_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Retry every message that gave up.")
def retry_command(ids: tuple[int, ...], retry_all: bool) -> None:
    """Put messages that gave up back in the queue (by id, or --all)."""
    if not ids and not retry_all:
        raise click.UsageError("Give message ids, or --all.")
    chosen = failures.retry(None if retry_all else ids)
    click.echo(f"{len(chosen)} message(s) queued again and delivered where the server answered:")
    for message in failures.failed_messages():
        if message.id in chosen:
            click.echo(f"{message.id}\tstill failing: {message.last_error}")
