"""Flask-Limiter's counters in the database (`cqmr-database://`), for deployments without
Redis: every worker and host shares them, as they share the database. Fixed windows only."""

from __future__ import annotations

from datetime import timedelta

from limits.storage import Storage
from sqlalchemy import case, delete, literal, select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import RateLimitCounter
from .models.base import UTCDateTime, utcnow
from .upsert import upsert

COUNTERS = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """A limits storage on the app's database; each hit is one atomic upsert, committed at once
    on its own connection (a rolled-back request still counts)."""

    STORAGE_SCHEME = ["cqmr-database"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = utcnow()
        until = literal(now + timedelta(seconds=expiry), UTCDateTime())
        expired = COUNTERS.c.expires_at <= now
        statement = (
            upsert(
                db.engine,
                COUNTERS,
                [COUNTERS.c.key],
                {
                    "hits": case((expired, amount), else_=COUNTERS.c.hits + amount),
                    "expires_at": case((expired, until), else_=COUNTERS.c.expires_at),
                },
            )
            .values(key=key, hits=amount, expires_at=until)
            .returning(COUNTERS.c.hits)
        )
        with db.engine.begin() as connection:
            return connection.execute(statement).scalar_one()

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            hits = connection.execute(
                select(COUNTERS.c.hits).where(COUNTERS.c.key == key, COUNTERS.c.expires_at > utcnow())
            ).scalar()
        return hits or 0

    def get_expiry(self, key: str) -> float:
        with db.engine.connect() as connection:
            expires = connection.execute(select(COUNTERS.c.expires_at).where(COUNTERS.c.key == key)).scalar()
        return (expires or utcnow()).timestamp()

    def check(self) -> bool:
        with db.engine.connect() as connection:
            connection.execute(select(1))
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(COUNTERS)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(COUNTERS).where(COUNTERS.c.key == key))
