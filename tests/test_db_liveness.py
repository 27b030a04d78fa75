"""A pooled connection the database server dropped while it sat idle is replaced before a
request uses it; one in steady use is not pinged."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from cqmr_wizard.extensions import db


def _drop_pooled_connection(app) -> None:
    """Return the one pooled connection to the pool, then have the server end it (from a
    connection of its own, to the database the app uses, however DATABASE_URL spells it)."""
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.remove()
    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def database_ok(response) -> bool:
    """What the readiness check found of the database (the first part it checks)."""
    return response.get_json()["checks"]["database"]["ok"]


@pytest.fixture
def on_postgresql(pg_schema):
    if pg_schema is None:
        pytest.skip("SQLite has no server to drop a connection: this runs in the PostgreSQL pass")


def test_a_connection_dropped_while_idle_is_replaced_before_use(app_factory, on_postgresql):
    app = app_factory(DATABASE_PING_AFTER_IDLE=0)
    _drop_pooled_connection(app)
    response = app.test_client().get("/readyz")
    assert database_ok(response)


def test_a_connection_in_steady_use_is_not_pinged(app_factory, on_postgresql):
    # The same drop within the idle window reaches the request: proof the ping above is what
    # replaced the connection, and that no ping is spent on a connection used moments ago.
    app = app_factory(DATABASE_PING_AFTER_IDLE=3600)
    _drop_pooled_connection(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and not database_ok(response)
    assert database_ok(app.test_client().get("/readyz"))  # the pool connected again
