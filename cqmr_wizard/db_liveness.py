"""A pooled database connection is checked for life before use only after it sat idle.

SQLAlchemy's `pool_pre_ping` spends a round trip to the server on every checkout: one more per
request than the page needs, on every request. A connection that served a request moments ago
is alive unless the server went away in between, which is what the idle check is for: after a
quiet spell (a server restart, a proxy's idle timeout) the first checkout pings, and a dead
connection is replaced before any request sees it."""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

CHECKED_IN_AT = "cqmr_checked_in_at"


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a connection at checkout when it was last returned to the pool `idle_seconds` ago
    or more; a failed ping makes the pool discard it and connect again."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def remember_return(dbapi_connection, record) -> None:
        record.info[CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy) -> None:
        returned = record.info.get(CHECKED_IN_AT)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # new (just connected), or used moments ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"the idle connection is gone: {error}") from error
        if not alive:
            raise DisconnectionError("the idle connection did not answer")
