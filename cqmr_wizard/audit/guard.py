"""Audit rows are never updated or deleted: refused in the ORM, and by triggers on PostgreSQL.

The triggers are installed by `install_audit_guard(connection)`, which `db.create_all()` calls
(after_create on the audit_event table, listened to once `install_guard()` ran) and which the migrations call as well: one refuses
row UPDATE and DELETE, one refuses TRUNCATE. (The test fixtures empty tables between tests
with triggers switched off for their session, which only a superuser can do.)"""

from __future__ import annotations

from sqlalchemy import Connection, event, text
from sqlalchemy.orm import ORMExecuteState, Session

from ..models import AuditEvent

TRIGGER_NAME = "audit_event_append_only"
TRUNCATE_TRIGGER_NAME = "audit_event_no_truncate"
FUNCTION_NAME = "audit_event_refuse_change"


class AuditImmutableError(RuntimeError):
    """Something tried to change or remove an audit row."""


def install_audit_guard(connection: Connection) -> None:
    """Create the PostgreSQL triggers that refuse UPDATE, DELETE and TRUNCATE on audit_event."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION_NAME}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            RAISE EXCEPTION USING
                MESSAGE = 'audit_event is append-only: ' || TG_OP || ' refused',
                ERRCODE = 'insufficient_privilege';
        END
        $body$
    """)
    )
    connection.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON audit_event"))
    connection.execute(
        text(
            f"CREATE TRIGGER {TRIGGER_NAME} BEFORE UPDATE OR DELETE ON audit_event "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION_NAME}()"
        )
    )
    connection.execute(text(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER_NAME} ON audit_event"))
    connection.execute(
        text(
            f"CREATE TRIGGER {TRUNCATE_TRIGGER_NAME} BEFORE TRUNCATE ON audit_event "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION_NAME}()"
        )
    )


def remove_truncate_guard(connection: Connection) -> None:
    """Drop the TRUNCATE trigger (the migration that added it, downgraded)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"DROP TRIGGER IF EXISTS {TRUNCATE_TRIGGER_NAME} ON audit_event"))


def _after_create(target: object, connection: Connection, **kw: object) -> None:
    install_audit_guard(connection)


def _refuse_row_change(mapper: object, connection: Connection, target: AuditEvent) -> None:
    raise AuditImmutableError(f"audit event {target.id} cannot be changed or removed")


def _refuse_bulk_change(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    # update(AuditEvent) targets an annotated copy of the table: compare by name.
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == AuditEvent.__tablename__:
        raise AuditImmutableError("audit events cannot be updated or deleted")


def _refuse_deletes_in_flush(session: Session, flush_context: object, instances: object) -> None:
    if any(isinstance(obj, AuditEvent) for obj in session.deleted):
        raise AuditImmutableError("audit events cannot be deleted")


def install_guard() -> None:
    """Refuse changes to audit rows in the ORM, and create the triggers with the table."""
    if event.contains(Session, "before_flush", _refuse_deletes_in_flush):
        return
    event.listen(AuditEvent.__table__, "after_create", _after_create)
    event.listen(AuditEvent, "before_update", _refuse_row_change)
    event.listen(AuditEvent, "before_delete", _refuse_row_change)
    event.listen(Session, "do_orm_execute", _refuse_bulk_change)
    event.listen(Session, "before_flush", _refuse_deletes_in_flush)
