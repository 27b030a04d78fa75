"""The readiness checks: each part named, each bounded and catching its own errors. Details
of a failure go to the log, never into the answer (which anyone may read)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import redis
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from ..extensions import db
from ..models import OutboxMessage, ProvisioningState
from ..models.base import utcnow
from ..models.outbox import PENDING
from ..models.provisioning import FAILED

log = logging.getLogger(__name__)

# Only these take an instance out of the load balancer's pool: without them it cannot serve a
# page. A stuck outbox or failed provisioning is reported (and alerted on) but more instances
# would not cure it, and taking every instance out would turn a slow mail server into an outage.
REQUIRED = ("database", "redis", "migrations")

Check = dict[str, Any]


@contextmanager
def bounded_connection() -> Iterator[Connection]:
    """A connection of its own (a failure leaves the request's session alone), its statements
    bounded by READY_CHECK_TIMEOUT on PostgreSQL; rolled back when done."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            timeout_ms = int(float(current_app.config["READY_CHECK_TIMEOUT"]) * 1000)
            connection.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        yield connection


def _connection_check(run: Callable[[Connection], Check]) -> Check:
    with bounded_connection() as connection:
        return run(connection)


def _database(connection: Connection) -> Check:
    connection.execute(text("SELECT 1"))
    return {"ok": True}


@cache
def code_heads(directory: str) -> frozenset[str]:
    """The Alembic head revisions of the code (read once per process: code does not change)."""
    return frozenset(ScriptDirectory(directory).get_heads())


def _migrations(connection: Connection) -> Check:
    applied = frozenset(connection.scalars(text("SELECT version_num FROM alembic_version")))
    wanted = code_heads(str(current_app.extensions["migrate"].directory))
    if applied != wanted:
        log.warning("readiness: the database is at %s, the code at %s", sorted(applied), sorted(wanted))
    return {"ok": applied == wanted}


def _outbox(connection: Connection) -> Check:
    now = utcnow()
    due = connection.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now
        )
    )
    # How long the oldest pending, due message has waited past its due time (0: none).
    age = round(max(0.0, (now - due).total_seconds()), 1) if due is not None else 0.0
    limit = current_app.config["READY_OUTBOX_MAX_AGE"].total_seconds()
    return {"ok": age <= limit, "oldest_due_seconds": age}


def _provisioning(connection: Connection) -> Check:
    failed = connection.scalar(select(func.count()).where(ProvisioningState.state == FAILED))
    return {"ok": failed == 0, "failed": failed}


@cache
def _redis_client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def _redis() -> Check:
    timeout = float(current_app.config["READY_CHECK_TIMEOUT"])
    _redis_client(current_app.config["REDIS_URL"], timeout).ping()
    return {"ok": True}


# What a failed check reports besides "ok": the same keys, unknown.
_UNKNOWN = {"outbox": {"oldest_due_seconds": None}, "provisioning": {"failed": None}}


def _guarded(name: str, run: Callable[[], Check]) -> Check:
    try:
        return run()
    except Exception as error:  # any failure of a check is its part being down, never a 500
        # One line, not a traceback: a probe every few seconds through an outage repeats it.
        log.warning("readiness: the %s check failed: %s: %s", name, type(error).__name__, error)
        return {"ok": False, **_UNKNOWN.get(name, {})}


def readiness() -> tuple[bool, dict[str, Check]]:
    """Whether this instance can serve (every required part up), and each part's check."""
    checks: dict[str, Check] = {"database": _guarded("database", lambda: _connection_check(_database))}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _guarded("redis", _redis)
    database_up = checks["database"]["ok"]
    for name, run in (("migrations", _migrations), ("outbox", _outbox), ("provisioning", _provisioning)):
        if database_up:
            checks[name] = _guarded(name, lambda run=run: _connection_check(run))
        else:  # each would only wait for the database again: unknown, at once
            checks[name] = {"ok": False, **_UNKNOWN.get(name, {})}
    ready = all(checks[name]["ok"] for name in REQUIRED if name in checks)
    return ready, checks
