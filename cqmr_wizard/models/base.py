"""Shared column types and helpers for the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def system_time() -> datetime:
    """The computer's clock, timezone-aware UTC."""
    return datetime.now(UTC)


# The one clock the application reads; the tests' `clock` fixture replaces it to move time on.
time_source: Callable[[], datetime] = system_time


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return time_source()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
