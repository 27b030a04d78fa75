"""The append-only, hash-chained audit log and the command that verifies it."""

import json
import threading
import time

import pytest
from sqlalchemy import select, text

from cqmr_wizard import audit
from cqmr_wizard.audit import GENESIS_HASH, event_link, verify_chain
from cqmr_wizard.audit.keys import keys_by_id
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, User

from .builders import make_user
from .conftest import ON_POSTGRES
from .helpers import sign_in
from .operator_support import make_org


def all_events(app) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()


def tamper(app, sql: str, **params) -> None:
    """Change audit rows behind the app's back, as someone with direct database access could."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # skips triggers
        conn.execute(text(sql), params)


def record_some(app, count: int = 3) -> None:
    with app.app_context():
        for n in range(count):
            audit.record("test.event", details={"n": n, "note": "ünïcode ✓"})
        db.session.commit()


def test_each_event_links_to_the_one_before(app):
    record_some(app)
    events = all_events(app)
    assert [e.prev_hash for e in events] == [GENESIS_HASH, events[0].hash, events[1].hash]
    with app.app_context():
        keys = keys_by_id()
    for event in events:
        assert event.hash == event_link(event, keys[event.key_id])
        assert event.occurred_at.tzinfo is not None and event.occurred_at.utcoffset().total_seconds() == 0
    assert json.loads(events[2].details) == {"n": 2, "note": "ünïcode ✓"}
    with app.app_context():
        assert (verify_chain().ok, verify_chain().checked) == (True, 3)


def test_an_event_is_part_of_its_callers_transaction(app):
    with app.app_context():
        audit.record("test.rolled_back")
        db.session.rollback()
        audit.record("test.kept")
        db.session.commit()
        assert verify_chain().ok
    assert [e.event_type for e in all_events(app)] == ["test.kept"]


def test_events_from_requests_carry_who_where_and_which_request(app, client):
    user_id = make_user(app)
    client.get("/sign-in")
    sign_in(client)
    [event] = [e for e in all_events(app) if e.event_type == "auth.signed_in"]
    assert event.actor_id == event.subject_user_id == user_id
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent.startswith("Werkzeug/")
    assert len(event.request_id) == 32


def test_altered_content_is_found(app):
    record_some(app)
    second = all_events(app)[1]
    tamper(app, "UPDATE audit_event SET details = :details WHERE id = :id", details='{"n":99}', id=second.id)
    with app.app_context():
        result = verify_chain()
    assert not result.ok
    assert (result.first_broken_id, result.checked) == (second.id, 1)
    assert "content does not match its hash" in result.reason


def test_a_removed_row_is_found(app):
    record_some(app)
    first, second, third = all_events(app)
    tamper(app, "DELETE FROM audit_event WHERE id = :id", id=second.id)
    with app.app_context():
        result = verify_chain()
    assert not result.ok and result.first_broken_id == third.id
    assert "does not link to the row before it" in result.reason


def relink_from(app, first_id: int, link) -> None:
    """Re-compute every link from `first_id` on with `link(row)`, as a forger without the key would."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        for row in rows:
            db.session.expunge(row)
    previous = [r.hash for r in rows if r.id < first_id][-1] if first_id > rows[0].id else GENESIS_HASH
    for row in (r for r in rows if r.id >= first_id):
        row.prev_hash = previous
        row.hash = link(row)
        tamper(
            app,
            "UPDATE audit_event SET details = :details, prev_hash = :prev, hash = :hash, key_id = :key_id "
            "WHERE id = :id",
            details=row.details,
            prev=row.prev_hash,
            hash=row.hash,
            key_id=row.key_id,
            id=row.id,
        )
        previous = row.hash


def test_a_row_edited_and_the_chain_recomputed_without_the_key_is_found(app):
    record_some(app)
    first, second, third = all_events(app)

    def forge_unkeyed(row):
        if row.id == second.id:
            row.details = '{"n":99}'
        row.key_id = "unkeyed"
        return event_link(row, None)

    relink_from(app, second.id, forge_unkeyed)
    with app.app_context():
        result = verify_chain()
    assert not result.ok and result.first_broken_id == second.id
    assert "carries no key" in result.reason

    def forge_guessed_key(row):
        row.key_id = first.key_id
        return event_link(row, b"a guess at the key, 32 bytes long")

    relink_from(app, first.id, forge_guessed_key)
    with app.app_context():
        result = verify_chain()
    assert not result.ok and result.first_broken_id == first.id
    assert "does not match its hash" in result.reason


def test_rows_written_before_keys_verify_only_up_to_the_configured_id(app_factory):
    app = app_factory()
    record_some(app)
    first, second, third = all_events(app)
    relink_from(app, first.id, lambda row: (setattr(row, "key_id", "unkeyed"), event_link(row, None))[1])
    with app.app_context():
        assert verify_chain().first_broken_id == first.id
    legacy = app_factory(AUDIT_UNKEYED_THROUGH=third.id)
    with legacy.app_context():
        assert verify_chain().ok


def test_a_rotated_key_still_verifies_older_rows(app_factory):
    old_key, new_key = "o" * 64, "n" * 64
    before = app_factory(AUDIT_HMAC_KEYS=old_key)
    record_some(before, 2)
    after = app_factory(AUDIT_HMAC_KEYS=f"{new_key},{old_key}")
    record_some(after, 2)
    events = all_events(after)
    assert events[0].key_id == events[1].key_id != events[2].key_id == events[3].key_id
    with after.app_context():
        result = verify_chain()
        assert (result.ok, result.checked) == (True, 4)
    dropped = app_factory(AUDIT_HMAC_KEYS=new_key)
    with dropped.app_context():
        result = verify_chain()
    assert not result.ok and result.first_broken_id == events[0].id
    assert "not in AUDIT_HMAC_KEYS" in result.reason


def test_verifying_in_batches(app):
    record_some(app, 7)
    with app.app_context():
        result = verify_chain(batch=2)
        assert (result.ok, result.checked) == (True, 7)


def test_verifying_leaves_the_callers_objects_alone(app):
    user_id = make_user(app)
    record_some(app)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert verify_chain(batch=1).ok
        assert user in db.session
        assert user.email == "pat@example.org"


def test_verify_command(app):
    runner = app.test_cli_runner()
    record_some(app)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0
    assert "Audit chain intact: 3 events verified." in result.output

    second = all_events(app)[1]
    tamper(app, "UPDATE audit_event SET event_type = 'test.forged' WHERE id = :id", id=second.id)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"Audit chain BROKEN at event {second.id}" in result.output
    assert "1 events before it verified" in result.output


def test_concurrent_writers_never_fork_the_chain(app):
    """Two workers appending at once must chain one after the other, not both onto the same row:
    the second commits while the first's transaction, holding its own event, is still open."""
    record_some(app, 1)
    first_has_written = threading.Event()
    second_has_committed = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with app.app_context():
                audit.record("test.first")
                first_has_written.set()
                assert second_has_committed.wait(timeout=30), "the second writer never committed"
                db.session.commit()
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            first_has_written.set()

    def second() -> None:
        try:
            assert first_has_written.wait(timeout=30), "the first writer never wrote"
            with app.app_context():
                audit.record("test.second")
                db.session.commit()
        except BaseException as error:
            errors.append(error)
        finally:
            second_has_committed.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    # Chained in the order they committed.
    assert [e.event_type for e in all_events(app)] == ["test.event", "test.second", "test.first"]
    with app.app_context():
        assert (verify_chain().ok, verify_chain().checked) == (True, 3)


def test_event_types_may_be_given_as_a_string_enum(app):
    from enum import Enum

    class EventType(str, Enum):  # noqa: UP042 (str() of this kind is "EventType.SIGNED_IN")
        SIGNED_IN = "auth.signed_in"

    with app.app_context():
        audit.record(EventType.SIGNED_IN)
        db.session.commit()
    assert [e.event_type for e in all_events(app)] == ["auth.signed_in"]


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks and the chain's advisory lock are PostgreSQL's")
def test_an_audited_commit_never_deadlocks_with_a_transaction_that_locked_its_organization(app):
    """Team changes lock their organization's row FOR UPDATE and then append audit events; an
    event about that organization committed meanwhile must wait outside the chain lock."""
    org_id = make_org(app, "Cascade Health")
    found: dict[str, object] = {}

    def commit_an_event() -> None:
        try:
            with app.app_context():
                found["pid"] = db.session.scalar(text("SELECT pg_backend_pid()"))
                audit.record("test.event", organization_id=org_id)
                db.session.commit()
        except BaseException as error:  # reported below
            found["error"] = error

    with app.app_context():
        engine = db.engine
    with engine.connect() as holder, engine.connect() as observer:
        holder.execute(text("SELECT id FROM organization WHERE id = :id FOR UPDATE"), {"id": org_id})
        writer = threading.Thread(target=commit_an_event)
        writer.start()
        deadline = time.monotonic() + 60
        while "error" not in found:  # until the writer waits on a lock (the organization's row)
            pid = found.get("pid")
            state = (
                pid
                and observer.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar()
            )
            observer.rollback()
            if state == "Lock":
                break
            assert time.monotonic() < deadline, "the writer never waited"
            time.sleep(0.05)
        holder.execute(
            text(f"SELECT pg_advisory_xact_lock({audit.ADVISORY_LOCK})")
        )  # as its own append would
        holder.commit()
    writer.join(60)
    assert "error" not in found, found.get("error")
    with app.app_context():
        assert verify_chain().ok
