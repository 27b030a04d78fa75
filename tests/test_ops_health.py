"""Issue 23: /healthz says the process answers (no database touched); /readyz names each part
and answers 503 when the database, Redis (when configured) or the migrations are not right,
quickly, and without telling the public why."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, text

from cqmr_wizard.extensions import db
from cqmr_wizard.models import OutboxMessage, ProvisioningState
from cqmr_wizard.models.base import utcnow

from .builders import make_organization, make_user
from .helpers import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"
# What the answers must never carry: hosts, users, drivers, error texts.
LEAKS = ("127.0.0.1", "nobody", "refused", "psycopg", "sqlite", "redis://", "Error", "alembic")


def head(app) -> str:
    return ScriptDirectory(app.extensions["migrate"].directory).get_current_head()


def stamp(app, *revisions: str) -> None:
    """Record in the database that the migrations reached `revisions` (none: never migrated)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if revisions:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
            for revision in revisions:
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})


def unreachable_database(app_factory, **settings):
    """An app whose database is a closed port on loopback."""
    app_factory()  # the test's own database, reset
    return app_factory(
        DATABASE_URL=f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
        **settings,
    )


def assert_nothing_leaks(response) -> None:
    body = response.get_data(as_text=True)
    assert [leak for leak in LEAKS if leak in body] == []


def test_liveness_touches_no_database_and_sets_no_cookie(app_factory):
    app = unreachable_database(app_factory)
    client = app.test_client()
    client.set_cookie("cqmr_session", "a-session-id-the-probe-should-never-look-up", domain="localhost")
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_when_every_part_answers(app_factory):
    app = app_factory(REDIS_URL=REDIS_URL)
    stamp(app, head(app))
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {
            "database": {"ok": True},
            "redis": {"ok": True},
            "migrations": {"ok": True},
            "outbox": {"ok": True, "oldest_due_seconds": 0.0},
            "provisioning": {"ok": True, "failed": 0},
        },
    }
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_redis_is_checked_only_when_configured(app):
    stamp(app, head(app))
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert sorted(response.get_json()["checks"]) == ["database", "migrations", "outbox", "provisioning"]


def test_the_database_unreachable_is_a_quick_503_naming_it(app_factory):
    app = unreachable_database(app_factory)
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False}
    # What needs the database is unknown, not guessed.
    assert body["checks"]["outbox"] == {"ok": False, "oldest_due_seconds": None}
    assert body["checks"]["provisioning"] == {"ok": False, "failed": None}
    assert_nothing_leaks(response)


def test_the_failure_is_told_to_the_log_not_the_public(app_factory, caplog):
    app = unreachable_database(app_factory)
    app.test_client().get("/readyz")
    assert any("the database check failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("behind", ["previous revision", "never migrated"])
def test_migrations_behind_the_code_are_a_503_naming_them(app, behind):
    previous = ScriptDirectory(app.extensions["migrate"].directory).get_revision(head(app)).down_revision
    stamp(app, *([previous] if behind == "previous revision" else []))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["migrations"] == {"ok": False} and checks["database"] == {"ok": True}
    assert_nothing_leaks(response)


def test_redis_unreachable_is_a_503_naming_it(app_factory):
    app = app_factory(REDIS_URL=f"redis://:secret@127.0.0.1:{free_port()}/0")
    stamp(app, head(app))
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["redis"] == {"ok": False}
    assert checks["database"] == {"ok": True} and checks["migrations"] == {"ok": True}
    assert_nothing_leaks(response)


def test_a_stuck_outbox_and_failed_provisioning_are_reported_without_a_503(app_factory):
    app = app_factory(READY_OUTBOX_MAX_AGE=timedelta(minutes=10))
    stamp(app, head(app))
    user_id = make_user(app)
    org_id = make_organization(app, user_id)
    now = utcnow()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            insert(OutboxMessage.__table__),
            [
                {
                    "kind": "mail",
                    "payload": "{}",
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now - timedelta(minutes=20),
                    "summary": "",
                },
                # Due later (a retry's backoff): waiting, not stuck.
                {
                    "kind": "mail",
                    "payload": "{}",
                    "status": "pending",
                    "attempts": 1,
                    "created_at": now,
                    "next_attempt_at": now + timedelta(hours=1),
                    "summary": "",
                },
            ],
        )
        conn.execute(
            insert(ProvisioningState.__table__),
            [
                {
                    "user_id": user_id,
                    "organization_id": org_id,
                    "user_name": "sub-1",
                    "desired_digest": "0" * 64,
                    "state": "failed",
                    "desired_active": True,
                    "changed_at": now,
                }
            ],
        )
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["outbox"]["ok"] is False
    assert 20 * 60 <= body["checks"]["outbox"]["oldest_due_seconds"] < 21 * 60
    assert body["checks"]["provisioning"] == {"ok": False, "failed": 1}
