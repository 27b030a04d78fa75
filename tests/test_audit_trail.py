"""The audit trail for operators, and audit rows that nobody can change or remove."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import ProgrammingError

from cqmr_wizard import audit
from cqmr_wizard.audit.events import AuditEventType
from cqmr_wizard.audit.guard import TRIGGER_NAME, AuditImmutableError
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent

from .builders import make_user
from .conftest import ON_POSTGRES
from .helpers import page_text
from .operator_support import count_queries, make_org, operator_client


def record_events(app, org_id: int, user_id: int) -> None:
    with app.app_context():
        audit.record(
            "onboarding.answer_saved",
            actor_id=user_id,
            organization_id=org_id,
            details={"field": "legal_name", "new": "=cmd|' /C calc'!A0"},
        )
        audit.record(
            "invitation.created",
            actor_id=user_id,
            organization_id=org_id,
            details={"email": "new@example.org"},
        )
        audit.record("account.signed_up", actor_id=user_id, subject_user_id=user_id)
        db.session.commit()


def event_ids(response) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', response.get_data(as_text=True))]


def test_search_by_organization_user_type_and_dates(app):
    org_id = make_org(app, "Cascade Health")
    other_org = make_org(app, "Other Clinic")
    user_id = make_user(app, "ada@cascade.example")
    record_events(app, org_id, user_id)
    with app.app_context():
        audit.record("onboarding.answer_saved", organization_id=other_org, details={})
        db.session.commit()
        old_id = db.session.scalar(select(AuditEvent.id).where(AuditEvent.organization_id == other_org))
    client = operator_client(app)
    response = client.get("/operator/audit")
    assert response.status_code == 200
    assert "Hash chain intact" in page_text(response)
    everything = event_ids(response)
    assert everything == sorted(everything, reverse=True) and len(everything) >= 5

    by_org = event_ids(client.get(f"/operator/audit?organization={org_id}"))
    assert len(by_org) == 2
    assert event_ids(client.get("/operator/audit?organization=cascade")) == by_org
    by_user = event_ids(client.get("/operator/audit?user=ada%40cascade"))
    assert len(by_user) == 3
    assert event_ids(client.get(f"/operator/audit?user={user_id}")) == by_user
    assert len(event_ids(client.get("/operator/audit?event_type=invitation.created"))) == 1
    today = datetime.now(UTC).date()
    assert event_ids(client.get(f"/operator/audit?date_from={today}&date_to={today}")) == everything
    tomorrow = today + timedelta(days=1)
    assert event_ids(client.get(f"/operator/audit?date_from={tomorrow}")) == []
    yesterday = today - timedelta(days=1)
    assert event_ids(client.get(f"/operator/audit?date_to={yesterday}")) == []
    assert old_id in event_ids(client.get("/operator/audit?organization=other"))


def test_bad_search_input_is_explained(app):
    client = operator_client(app)
    for query in (
        "date_from=31/12/2024",
        "date_from=2025-02-01&date_to=2025-01-01",
        "event_type=%3Cscript%3E",
        "page=0",
        "organization=" + "x" * 101,
    ):
        response = client.get(f"/operator/audit?{query}")
        assert response.status_code == 400, query
        assert "There is a problem" in page_text(response)
        assert client.get(f"/operator/audit.csv?{query}").status_code == 400


def record_reminders(app, count: int) -> None:
    with app.app_context():
        for n in range(count):
            audit.record(AuditEventType.REMINDER_SENT, details={"n": n})
        db.session.commit()


def test_pagination(app):
    record_reminders(app, 120)
    client = operator_client(app)
    first = client.get("/operator/audit?event_type=reminder.sent")
    assert "120 events, page 1 of 3" in page_text(first)
    assert len(event_ids(first)) == 50
    last = client.get("/operator/audit?event_type=reminder.sent&page=3")
    assert len(event_ids(last)) == 20
    assert set(event_ids(first)).isdisjoint(event_ids(last))
    assert (
        "event_type=reminder.sent"
        in first.get_data(as_text=True).split('aria-label="Next page"')[0].rsplit("href=", 1)[1]
    )


def test_a_long_trail_is_counted_up_to_a_limit_and_still_paged_to_the_end(app, monkeypatch):
    """Counting every match of a trail that only grows would make each view slower each month:
    past COUNT_LIMIT the page says "more than" and keeps offering the next page."""
    from cqmr_wizard.operators import audit_search, audit_views

    monkeypatch.setattr(audit_search, "COUNT_LIMIT", 60)
    monkeypatch.setattr(audit_views, "COUNT_LIMIT", 60)
    record_reminders(app, 120)
    client = operator_client(app)
    first = client.get("/operator/audit?event_type=reminder.sent")
    assert "More than 60 events, page 1." in page_text(first)
    assert len(event_ids(first)) == 50
    last = client.get("/operator/audit?event_type=reminder.sent&page=3")
    assert "More than 60 events, page 3." in page_text(last)
    assert len(event_ids(last)) == 20 and 'aria-label="Next page"' not in last.get_data(as_text=True)
    seen = set(event_ids(first)) | set(
        event_ids(client.get("/operator/audit?event_type=reminder.sent&page=2"))
    )
    assert len(seen | set(event_ids(last))) == 120


def test_the_console_names_events_in_plain_language(app):
    org_id = make_org(app, "Cascade Health")
    record_events(app, org_id, make_user(app, "ada@cascade.example"))
    with app.app_context():
        audit.record("test.unknown", details={})
        db.session.commit()
    client = operator_client(app)
    html = client.get("/operator/audit").get_data(as_text=True)
    event_cell = '<th scope="row" data-label="Event" class="cqmr-event-cell">'
    assert f"{event_cell}Invitation sent</th>" in html
    assert f"{event_cell}invitation.created</th>" not in html
    assert '<option value="invitation.created">Invitation sent</option>' in html
    assert f"{event_cell}test.unknown</th>" in html  # a type the code does not know keeps its code
    page = page_text(client.get(f"/operator/organizations/{org_id}"))
    assert "Organization answer saved" in page and "onboarding.answer_saved" not in page


def test_csv_export_has_every_matching_event_and_no_formulas(app):
    org_id = make_org(app, "Cascade Health")
    user_id = make_user(app, "ada@cascade.example")
    record_events(app, org_id, user_id)
    client = operator_client(app)
    response = client.get(f"/operator/audit.csv?organization={org_id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["Event type"] for r in rows] == ["invitation.created", "onboarding.answer_saved"]
    assert [r["Event"] for r in rows] == ["Invitation sent", "Organization answer saved"]
    assert rows[1]["Organization"] == "Cascade Health"
    assert rows[1]["Actor email"] == "ada@cascade.example"
    assert json.loads(rows[1]["Details"])["new"] == "=cmd|' /C calc'!A0"  # inside JSON, not first
    with app.app_context():
        named = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "operator.exported"))
        assert json.loads(named.details) == {
            "export": "audit_events",
            "criteria": {"organization": str(org_id)},
            "rows": 2,
        }
    # A value that starts like a formula is neutralised.
    with app.app_context():
        audit.record("=evil.type", details={})
        db.session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get("/operator/audit.csv").get_data(as_text=True))))
    assert "'=evil.type" in [r["Event type"] for r in rows]


def test_the_orm_refuses_to_change_or_remove_audit_rows(app):
    with app.app_context():
        event = audit.record("test.event", details={"n": 1})
        db.session.commit()
        event.details = "{}"
        with pytest.raises(AuditImmutableError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditEvent, event.id))
        with pytest.raises(AuditImmutableError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AuditImmutableError):
            db.session.execute(update(AuditEvent).values(details="{}"))
        db.session.rollback()
        with pytest.raises(AuditImmutableError):
            db.session.execute(delete(AuditEvent))
        db.session.rollback()
        with pytest.raises(AuditImmutableError):
            db.session.execute(delete(AuditEvent.__table__))
        db.session.rollback()
        assert db.session.get(AuditEvent, event.id).details == '{"n":1}'


@pytest.mark.skipif(not ON_POSTGRES, reason="the trigger is PostgreSQL's")
def test_postgresql_refuses_raw_updates_and_deletes(app):
    with app.app_context():
        audit.record("test.event", details={"n": 1})
        db.session.commit()
        for statement in ("UPDATE audit_event SET details = '{}'", "DELETE FROM audit_event"):
            with db.engine.connect() as connection, pytest.raises(ProgrammingError, match="append-only"):
                connection.execute(text(statement))
        assert db.session.scalar(select(AuditEvent.details)) == '{"n":1}'


def tamper(app, sql: str) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with app.app_context(), db.engine.begin() as connection:
        if ON_POSTGRES:
            connection.execute(text(f"ALTER TABLE audit_event DISABLE TRIGGER {TRIGGER_NAME}"))
        connection.execute(text(sql))
        if ON_POSTGRES:
            connection.execute(text(f"ALTER TABLE audit_event ENABLE TRIGGER {TRIGGER_NAME}"))


@pytest.mark.parametrize(
    "sql, reason",
    [
        (
            'UPDATE audit_event SET details = \'{"new":"forged"}\' WHERE id = {victim}',
            "its content does not match its hash",
        ),
        ("DELETE FROM audit_event WHERE id = {victim}", "does not link to the row before it"),
    ],
)
def test_tampering_is_detected_and_shown(app, sql, reason):
    org_id = make_org(app, "Cascade Health")
    user_id = make_user(app, "ada@cascade.example")
    record_events(app, org_id, user_id)
    client = operator_client(app)
    with app.app_context():
        victim = db.session.scalar(select(AuditEvent.id).where(AuditEvent.event_type == "invitation.created"))
    tamper(app, sql.replace("{victim}", str(victim)))
    response = client.get("/operator/audit")
    assert response.status_code == 200
    text_ = page_text(response)
    assert "The audit trail has been tampered with" in text_
    broken = victim if "UPDATE" in sql else victim + 1
    assert f"The hash chain breaks at event {broken}: {reason}" in text_
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"BROKEN at event {broken}" in result.output


def test_the_audit_page_query_count_does_not_grow_with_organizations(app):
    for n in range(3):
        make_org(app, f"Org {n}")
    client = operator_client(app)
    client.get("/operator/audit")
    with app.app_context():  # each view checks the events added since the last one
        audit.record("onboarding.answer_saved", details={})
        db.session.commit()
    with count_queries(app) as small:
        client.get("/operator/audit")
    for n in range(40):
        org_id = make_org(app, f"More {n}")
        with app.app_context():
            audit.record("onboarding.answer_saved", organization_id=org_id, details={})
            db.session.commit()
    with count_queries(app) as large:
        client.get("/operator/audit")
    assert large["n"] == small["n"]


def test_the_page_continues_the_check_from_the_last_verified_row_and_says_when(app):
    from cqmr_wizard.models import AuditVerification

    client = operator_client(app)
    with app.app_context():
        first_end = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
    text_ = page_text(client.get("/operator/audit"))
    assert f"Hash chain intact through event {first_end}" in text_ and "last checked" in text_
    assert "has not yet been checked by flask audit verify" in text_
    record_events(app, make_org(app, "Cascade Health"), None)
    text_ = page_text(client.get("/operator/audit"))
    assert f"Hash chain intact through event {first_end + 3}" in text_
    with app.app_context():
        runs = db.session.scalars(select(AuditVerification).order_by(AuditVerification.id)).all()
    assert [(r.from_id, r.last_id, r.full) for r in runs] == [
        (0, first_end, False),
        (first_end, first_end + 3, False),
    ]
    assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    assert "The whole chain was last checked by flask audit verify" in page_text(
        client.get("/operator/audit")
    )
