"""`flask outbox …`: deliver queued messages (cron or a long-running worker), list and retry failures."""

from __future__ import annotations

import signal
import threading
import time

import click
from flask import current_app
from flask.cli import AppGroup

from . import clock, delivery, failures

outbox_cli = AppGroup("outbox", help="Outgoing messages (mail) waiting in the outbox.")


class StopSignal:
    """SIGTERM (a process manager stopping the worker) or SIGINT (Ctrl-C) asks the deliverer to
    stop once the message in hand is sent: no message is left half-sent, and the rest of the
    batch is released at once. The previous handlers are put back when the command ends."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def __call__(self) -> bool:
        return self.received is not None

    def _handle(self, signum: int, frame: object) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> StopSignal:
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def sleep(self, seconds: float) -> None:
        """Wait up to `seconds`, waking soon after a stop is asked for."""
        until = time.monotonic() + seconds
        while not self.received and (left := until - time.monotonic()) > 0:
            time.sleep(min(left, 0.2))


def deliver_due(batch: int, stop: StopSignal) -> delivery.Outcome:
    """One poll: the clock passes, then every message that is due, `batch` at a time."""
    total = delivery.Outcome()
    if stop():
        return total
    clock.tick()
    while not stop():
        outcome = delivery.deliver(limit=batch, stop=stop)
        total.sent += outcome.sent
        total.retrying += outcome.retrying
        total.failed += outcome.failed
        if not (outcome.sent or outcome.retrying or outcome.failed):
            break
    return total


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep running, polling every OUTBOX_POLL_INTERVAL seconds.")
@click.option("--batch", type=click.IntRange(1, 1000), default=50, help="Messages claimed at a time.")
def deliver_command(loop: bool, batch: int) -> None:
    """Apply what time made due, then deliver every message that is due, with retries and
    exponential backoff. SIGTERM or SIGINT stops it after the message in hand (exit status 0)."""
    with StopSignal() as stop:
        while True:
            total = deliver_due(batch, stop)
            if not loop or total.sent or total.retrying or total.failed:
                click.echo(total.line())
            if not loop or stop():
                break
            stop.sleep(current_app.config["OUTBOX_POLL_INTERVAL"])
            if stop():
                break
    if stop():
        click.echo(f"Outbox: stopped on {stop.received}; no message was left half-sent.")


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
