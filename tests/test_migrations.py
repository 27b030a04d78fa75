"""The Alembic migrations build exactly the schema the models declare (no drift), on SQLite and
on PostgreSQL, including the PostgreSQL trigger that keeps the audit log append-only."""

from __future__ import annotations

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from cqmr_wizard import create_app
from cqmr_wizard.extensions import db

from .conftest import POSTGRES_URL, make_config


@pytest.fixture
def migrated_app(tmp_path, pg_schema, monkeypatch):
    """An app on a database that only the migrations have touched."""
    monkeypatch.setenv("CQMR_INSTANCE_PATH", str(tmp_path / "instance"))
    config = make_config(tmp_path, None, None)
    schema = None
    if pg_schema is None:
        config["DATABASE_URL"] = f"sqlite:///{tmp_path}/migrated.sqlite3"
    else:
        schema = f"{pg_schema}_m{secrets.token_hex(2)}"
        url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        config["DATABASE_URL"] = POSTGRES_URL
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    app = create_app(config)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_produce_exactly_the_models_schema(migrated_app):
    with migrated_app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_migrations_install_the_audit_trigger_on_postgresql(migrated_app):
    with migrated_app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("the append-only trigger is PostgreSQL's; SQLite relies on the ORM guard")
        triggers = (
            conn.execute(
                text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal"
                )
            )
            .scalars()
            .all()
        )
    assert {"audit_event_append_only", "audit_event_no_truncate"} <= set(triggers)


def test_migrations_downgrade_to_an_empty_database(migrated_app):
    with migrated_app.app_context():
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names())
    assert tables <= {"alembic_version"}


def test_organizations_whose_members_are_all_ready_are_live_after_the_upgrade(migrated_app):
    """Revision h21l1ve00001 on a database of before: an organization done with its own tasks and
    with every member ready is live from the upgrade; one with a member still to go is not."""
    with migrated_app.app_context():
        downgrade(revision="g20r34dy0001")
        with db.engine.begin() as conn:
            for org_id, ready in ((1, 2), (2, 1)):
                conn.execute(
                    text(
                        "INSERT INTO organization (id, eligibility, created_at, updated_at) "
                        "VALUES (:id, 'covered_entity', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": org_id},
                )
                conn.execute(
                    text(
                        "INSERT INTO organization_progress (organization_id, overall, gate_open, members, "
                        "members_ready, admins, signers, pending_invitations, started_at, last_activity_at) "
                        "VALUES (:id, 'COMPLETED', true, 2, :ready, 1, 1, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": org_id, "ready": ready},
                )
        upgrade()
        with db.engine.connect() as conn:
            live = dict(conn.execute(text("SELECT id, went_live_at IS NOT NULL FROM organization")).all())
            projected = dict(
                conn.execute(
                    text("SELECT organization_id, went_live_at IS NOT NULL FROM organization_progress")
                ).all()
            )
    assert live == projected == {1: True, 2: False}
