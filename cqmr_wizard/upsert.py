"""INSERT … ON CONFLICT in the database's own dialect: PostgreSQL and SQLite spell it alike, but
SQLAlchemy builds it from each dialect's `insert`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

SetClause = Mapping[str, Any] | Callable[[Any], Mapping[str, Any]]


def upsert(
    bind: Engine | Connection, table: Table | type, keys: Sequence[Any], set_: SetClause | None
) -> Insert:
    """An INSERT into `table` that, on a clash on the unique `keys`, updates `set_` (a mapping, or
    a function of the proposed row, `excluded`) or does nothing when `set_` is None. Add
    `.values(...)` and `.returning(...)` as for any insert."""
    insert = postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    if set_ is None:
        return statement.on_conflict_do_nothing(index_elements=keys)
    changes = set_(statement.excluded) if callable(set_) else set_
    return statement.on_conflict_do_update(index_elements=keys, set_=changes)
