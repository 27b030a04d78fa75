"""Nobody can shorten the audit trail unseen: checkpoints outside the table, a TRUNCATE trigger,
and (PostgreSQL) an application role that may only INSERT and SELECT audit rows."""

from __future__ import annotations

import json
import secrets

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import ProgrammingError

from cqmr_wizard import audit
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent

from .builders import make_user
from .conftest import ON_POSTGRES
from .helpers import sign_in


def commit_events(app, commits: int, per_commit: int = 3) -> None:
    for c in range(commits):
        with app.app_context():
            for n in range(per_commit):
                audit.record("test.event", details={"commit": c, "n": n})
            db.session.commit()


def remove_newest(app, count: int) -> None:
    """Delete the newest rows as someone with database access would (triggers switched off)."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(
            text("DELETE FROM audit_event WHERE id > (SELECT max(id) - :count FROM audit_event)"),
            {"count": count},
        )


def test_each_commit_appends_a_checkpoint_outside_the_table(app, tmp_path):
    commit_events(app, 2)
    lines = [json.loads(line) for line in (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()]
    with app.app_context():
        ends = db.session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id)).all()
    assert [(c["last_id"], c["link"]) for c in lines] == [tuple(ends[2]), tuple(ends[5])]


def test_truncating_the_newest_rows_fails_verify_with_the_checkpoint(app, tmp_path):
    commit_events(app, 4)
    runner = app.test_cli_runner()
    copy = tmp_path / "checkpoints-copy.jsonl"
    copy.write_bytes((tmp_path / "audit-checkpoints.jsonl").read_bytes())
    remove_newest(app, 4)

    alone = runner.invoke(args=["audit", "verify", "--no-checkpoint"])
    assert alone.exit_code == 0  # what is left still links up: the chain alone cannot tell
    assert "Audit chain intact: 8 events verified." in alone.output
    # What operators run: the configured AUDIT_CHECKPOINT_FILE is checked without being named.
    for args in ([], ["--checkpoint", str(copy)]):
        result = runner.invoke(args=["audit", "verify", *args])
        assert result.exit_code == 1, args
        assert "TRUNCATED" in result.output and "log ends at event 8" in result.output
        assert "missing event ids: 9–12" in result.output


def test_verify_checks_the_configured_checkpoint_file_by_default(app, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # no events, no file yet
    commit_events(app, 3)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 9 events verified." in result.output
    assert f"The log reaches every checkpoint in {tmp_path / 'audit-checkpoints.jsonl'}." in result.output
    file = str(tmp_path / "audit-checkpoints.jsonl")
    both = runner.invoke(args=["audit", "verify", "--no-checkpoint", "--checkpoint", file])
    assert both.exit_code == 2 and "not both" in both.output


def test_a_rewritten_end_is_found_by_its_checkpoint(app, tmp_path):
    commit_events(app, 2)
    remove_newest(app, 3)
    commit_events(app, 1)  # ids 4-6 again on SQLite, 7-9 on PostgreSQL: either way the old 6 is gone
    result = app.test_cli_runner().invoke(
        args=["audit", "verify", "--checkpoint", str(tmp_path / "audit-checkpoints.jsonl")]
    )
    assert result.exit_code == 1
    assert "REWRITTEN: event 6" in result.output or "MISSING: event 6" in result.output


def test_checkpoint_and_seal_commands(app, tmp_path):
    runner = app.test_cli_runner()
    assert "empty" in runner.invoke(args=["audit", "checkpoint"]).output
    commit_events(app, 1)
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0 and "event 3" in result.output
    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0 and "verified through event 3" in sealed.output
    lines = (tmp_path / "audit-checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line)["last_id"] for line in lines] == [3, 3, 3]
    result = runner.invoke(
        args=["audit", "verify", "--checkpoint", str(tmp_path / "audit-checkpoints.jsonl")]
    )
    assert result.exit_code == 0 and "reaches every checkpoint" in result.output


@pytest.mark.skipif(not ON_POSTGRES, reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_truncate_even_for_the_tables_owner(app):
    commit_events(app, 1)
    with app.app_context():
        with db.engine.connect() as conn, pytest.raises(ProgrammingError, match="append-only"):
            conn.execute(text("TRUNCATE audit_event"))
        assert len(db.session.scalars(select(AuditEvent.id)).all()) == 3


@pytest.mark.skipif(not ON_POSTGRES, reason="database roles are PostgreSQL's")
def test_the_application_role_can_only_insert_and_select_audit_rows(app_factory, pg_schema):
    owner = app_factory()  # runs as the owner of the tables, like the migrations
    role = f"cqmr_app_{secrets.token_hex(4)}"
    with owner.app_context(), db.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{pg_schema}" TO "{role}"'))
        conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{pg_schema}" TO "{role}"')
        )
        conn.execute(text(f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM "{role}"'))
        conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{pg_schema}" TO "{role}"'))
    try:
        options = owner.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]["options"] + f" -crole={role}"
        app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"options": options}})
        make_user(app)
        assert sign_in(app.test_client()).status_code == 302  # the app works as this role
        with app.app_context():
            assert db.session.scalar(text("SELECT current_user")) == role
            assert audit.verify_chain().ok and audit.verify_chain().checked >= 1
            for statement in (
                "UPDATE audit_event SET details = '{}'",
                "DELETE FROM audit_event",
                "TRUNCATE audit_event",
            ):
                with db.engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
                    conn.execute(text(statement))
            db.engine.dispose()
    finally:
        with owner.app_context(), db.engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
