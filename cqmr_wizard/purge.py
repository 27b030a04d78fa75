"""`flask purge` (cron): remove rows that have no further use once they are past their age line,
and print how many of each kind. What is evidence is never touched: audit events, agreements
and their versions, signatures, signed copies, members, organizations, invitations themselves
(only an invitation's dead link is erased), reminders sent, access reviews.

Each kind is one statement in a transaction of its own, re-checked by the database as it runs,
so two hosts purging at once both finish (one of them finds the rows already gone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from flask import Config, current_app
from flask.cli import with_appcontext
from sqlalchemy import ColumnElement, Table, delete, func, or_, select, update

from .extensions import db
from .models import (
    EmailToken,
    Invitation,
    InvitationSend,
    OutboxMessage,
    RateLimitCounter,
    SamlAssertionSeen,
    SamlPendingResponse,
    SignInThrottle,
    WebSession,
)
from .models.base import utcnow
from .models.outbox import SENT

# A condition on a kind's table: given the settings and the time its age line is drawn from.
Condition = Callable[[Config, datetime], ColumnElement[bool]]


@dataclass(frozen=True)
class Kind:
    """Rows of one table past their age line: deleted, or with `erase` set instead."""

    label: str
    table: Table
    past_the_line: Condition
    erase: dict[str, Any] | None = None
    # Why the database holds none of these in this deployment (they live in Redis), or None.
    elsewhere: Callable[[Config], str | None] = lambda config: None


def _grace(config: Config) -> timedelta:
    return config["PURGE_AFTER"]


def _sessions(config: Config, now: datetime) -> ColumnElement[bool]:
    line = now - _grace(config)
    return or_(
        WebSession.last_seen_at < line - config["SESSION_IDLE_TIMEOUT"],
        WebSession.created_at < line - config["SESSION_ABSOLUTE_TIMEOUT"],
    )


def _sessions_elsewhere(config: Config) -> str | None:
    if config.get("REDIS_URL"):
        return "kept in Redis, which removes each one SESSION_IDLE_TIMEOUT after its last use"
    return None


def _email_links(config: Config, now: datetime) -> ColumnElement[bool]:
    line = now - _grace(config)
    return or_(EmailToken.used_at < line, EmailToken.expires_at < line)


def _invitation_links(config: Config, now: datetime) -> ColumnElement[bool]:
    line = now - _grace(config)
    ended = or_(Invitation.expires_at < line, Invitation.accepted_at < line, Invitation.revoked_at < line)
    return Invitation.token_hash.is_not(None) & ended


def _counters(config: Config, now: datetime) -> ColumnElement[bool]:
    return RateLimitCounter.expires_at < now - _grace(config)


def _counters_elsewhere(config: Config) -> str | None:
    if not config["RATELIMIT_STORAGE_URI"].startswith("cqmr-database"):
        return "kept in Redis, which removes each one when its window ends"
    return None


def _sign_in_throttles(config: Config, now: datetime) -> ColumnElement[bool]:
    # Failures are counted until a quiet spell this long: then the source starts afresh.
    line = now - _grace(config)
    quiet = SignInThrottle.last_failure_at < line - config["SIGN_IN_THROTTLE_MAX_DELAY"]
    return quiet & or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until < line)


def _invitation_sends(config: Config, now: datetime) -> ColumnElement[bool]:
    return InvitationSend.sent_at < now - _grace(config) - config["INVITATION_RATE_WINDOW"]


def _delivered_messages(config: Config, now: datetime) -> ColumnElement[bool]:
    # Only delivered ones: a failed message waits for an operator (`flask outbox failed`/`retry`).
    return (OutboxMessage.status == SENT) & (OutboxMessage.sent_at < now - config["OUTBOX_KEEP"])


def _saml_assertions(config: Config, now: datetime) -> ColumnElement[bool]:
    # Past its NotOnOrAfter (plus skew) an assertion is refused anyway: its id need not be kept.
    return SamlAssertionSeen.expires_at < now


def _saml_pending(config: Config, now: datetime) -> ColumnElement[bool]:
    # Unclaimed within minutes, a posted response can no longer be used (sso/saml.py).
    return SamlPendingResponse.received_at < now - _grace(config)


KINDS: tuple[Kind, ...] = (
    Kind("expired sessions", WebSession.__table__, _sessions, elsewhere=_sessions_elsewhere),
    Kind(
        "used or expired email links (verification, password reset, unlock)",
        EmailToken.__table__,
        _email_links,
    ),
    Kind(
        "links of expired, accepted or revoked invitations (erased; the invitations stay)",
        Invitation.__table__,
        _invitation_links,
        erase={"token_hash": None},
    ),
    Kind(
        "per-source rate-limit counters", RateLimitCounter.__table__, _counters, elsewhere=_counters_elsewhere
    ),
    Kind("sign-in throttles", SignInThrottle.__table__, _sign_in_throttles),
    Kind("invitation sends past the rate window", InvitationSend.__table__, _invitation_sends),
    Kind("delivered outbox messages", OutboxMessage.__table__, _delivered_messages),
    Kind("expired SAML assertion ids (the replay cache)", SamlAssertionSeen.__table__, _saml_assertions),
    Kind("unclaimed SAML responses", SamlPendingResponse.__table__, _saml_pending),
)


def purge(kind: Kind, config: Config, now: datetime, dry_run: bool = False) -> int:
    """Remove (or, with `dry_run`, count) the rows of `kind` past their line; return how many."""
    condition = kind.past_the_line(config, now)
    if dry_run:
        with db.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(kind.table).where(condition))
    if kind.erase is not None:
        statement = update(kind.table).where(condition).values(**kind.erase)
    else:
        statement = delete(kind.table).where(condition)
    with db.engine.begin() as connection:
        return connection.execute(statement).rowcount


def purge_all(dry_run: bool = False) -> list[tuple[Kind, int | str]]:
    """Purge every kind now: (kind, rows removed) or (kind, where they are kept instead)."""
    config = current_app.config
    now = utcnow()
    done: list[tuple[Kind, int | str]] = []
    for kind in KINDS:
        note = kind.elsewhere(config)
        done.append((kind, note if note else purge(kind, config, now, dry_run)))
    return done


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Print what would be removed, and remove nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Remove what has no further use past PURGE_AFTER (delivered mail: OUTBOX_KEEP); run from cron."""
    click.echo("Would remove:" if dry_run else "Removed:")
    for kind, count in purge_all(dry_run):
        click.echo(f"  {kind.label}: {count}")
