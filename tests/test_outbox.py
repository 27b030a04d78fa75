"""The outbox: mail is written with the change that causes it and delivered after commit,
never while a request holds a transaction or a lock, exactly once, and retried when it fails."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cqmr_wizard import audit
from cqmr_wizard.extensions import db
from cqmr_wizard.mail import send_mail
from cqmr_wizard.models import AuditEvent, OutboxMessage, User
from cqmr_wizard.outbox import delivery
from cqmr_wizard.outbox.queue import enqueue

from .conftest import ON_POSTGRES
from .helpers import PASSWORD, free_port, link_from, page_text, submit
from .operator_support import operator_client
from .smtp_gate import SmtpGate
from .team_support import admin_with_org, invitations, signed_in

ROOT = Path(__file__).resolve().parent.parent
PATIENCE = 60  # seconds to wait for something that should happen; never a measure of speed


def wait_for(condition, what: str):
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def messages(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def gate(smtp_server):
    controller, _ = smtp_server
    held = SmtpGate(controller.port)
    yield held
    held.close()


def test_a_request_that_causes_mail_completes_while_the_mail_server_has_not_answered(
    app_factory, gate, mailbox
):
    app = app_factory(MAIL_PORT=gate.port, OUTBOX_DELIVERY="background")
    client = app.test_client()
    answers = []
    data = {"full_name": "Ada Lovelace", "email": "ada@example.org", "password": PASSWORD}
    request = threading.Thread(target=lambda: answers.append(submit(client, "/sign-up", data).status_code))
    request.start()
    request.join(PATIENCE)  # the gate stays shut: a request that waited for the mail would hang here
    assert answers == [302]  # answered, while…
    assert gate.connected.wait(PATIENCE)  # …the delivery is connected and the server is silent
    assert mailbox.to("ada@example.org") == []
    [queued] = messages(app)
    assert queued.status == "pending" and queued.claim_token is not None
    gate.release()
    wait_for(lambda: mailbox.to("ada@example.org"), "the mail")
    assert link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
    wait_for(lambda: messages(app)[0].status == "sent", "the message to be marked sent")


def test_audited_writes_of_other_organizations_complete_while_a_request_is_stuck_in_mail(
    app_factory, gate, mailbox
):
    # "inline": the third request itself sends its mail after its commit, and hangs there.
    app = app_factory(MAIL_PORT=gate.port, OUTBOX_DELIVERY="inline")
    admin_with_org(app, "admin@alpha.example.org", org_name="Alpha Clinic")
    _, beta = admin_with_org(app, "admin@beta.example.org", org_name="Beta Clinic")
    _, gamma = admin_with_org(app, "admin@gamma.example.org", org_name="Gamma Clinic")
    clients = {name: signed_in(app, f"admin@{name}.example.org") for name in ("alpha", "beta", "gamma")}
    results: dict[str, int] = {}

    def invite_someone() -> None:
        response = submit(
            clients["alpha"],
            "/team/invite",
            {"full_name": "Ivy Invitee", "email": "ivy@alpha.example.org", "roles": ["viewer"]},
        )
        results["alpha"] = response.status_code

    def save_legal_name(name: str) -> None:
        response = submit(
            clients[name], "/onboarding/details/legal-name", {"legal_name": f"{name.title()} Health"}
        )
        results[name] = response.status_code

    stuck = threading.Thread(target=invite_someone)
    stuck.start()
    assert gate.connected.wait(PATIENCE)
    others = [threading.Thread(target=save_legal_name, args=(name,)) for name in ("beta", "gamma")]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join(PATIENCE)
    assert {k: results.get(k) for k in ("beta", "gamma")} == {"beta": 302, "gamma": 302}
    assert stuck.is_alive() and not gate.released.is_set()  # the third is still in mail delivery
    gate.release()
    stuck.join(PATIENCE)
    assert results["alpha"] == 302
    assert link_from(mailbox.last_to("ivy@alpha.example.org"), "/invitations/")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert {e.organization_id for e in events if e.event_type == "onboarding.answer_saved"} >= {
            beta,
            gamma,
        }
        assert audit.verify_chain().ok


def csv_of(count: int) -> bytes:
    rows = "".join(f"Person {n},person{n}@alpha.example.org,viewer\n" for n in range(count))
    return ("name,email,roles\n" + rows).encode()


def write_instance(path: Path, app, **settings) -> dict:
    """An instance folder whose config.py points a `flask` process at this test's database."""
    path.mkdir(parents=True, exist_ok=True)
    keys = ("CQMR_ENV", "SECRET_KEY", "MFA_ENCRYPTION_KEYS", "AUDIT_HMAC_KEYS", "DATABASE_URL")
    config = {k: app.config[k] for k in keys} | {
        "SQLALCHEMY_ENGINE_OPTIONS": app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    }
    config |= settings
    (path / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in config.items()))
    return {**os.environ, "CQMR_INSTANCE_PATH": str(path), "FLASK_APP": "wsgi"}


def test_a_csv_batch_survives_a_mail_outage_and_two_deliverers_send_each_mail_once(
    app_factory, smtp_server, mailbox, tmp_path
):
    down = app_factory(MAIL_PORT=free_port(), OUTBOX_RETRY_BASE=timedelta(0))  # nothing listens there
    admin_with_org(down)
    admin = signed_in(down, "admin@alpha.example.org")
    response = submit(
        admin,
        "/team/invite/upload",
        {"csv_file": (io.BytesIO(csv_of(50)), "team.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, page_text(response)
    assert len(invitations(down)) == 50
    queued = messages(down)
    assert len(queued) == 50 and all(m.status == "pending" and m.last_error for m in queued)
    assert mailbox.messages == []

    controller, _ = smtp_server
    env = write_instance(tmp_path / "worker", down, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    command = [str(Path(sys.executable).parent / "flask"), "outbox", "deliver", "--batch", "3"]
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=PATIENCE * 3)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    received = sorted(m["To"] for m in mailbox.messages)
    assert received == sorted(f"person{n}@alpha.example.org" for n in range(50))  # each once
    assert all(m.status == "sent" for m in messages(down))


def test_a_message_that_keeps_failing_is_shown_to_operators_and_can_be_retried(app_factory, mailbox):
    down = app_factory(MAIL_PORT=free_port(), OUTBOX_MAX_ATTEMPTS=1)
    with down.test_request_context():
        send_mail("pat@example.org", "Hello", "password_changed", user={"full_name": "Pat"})
        db.session.commit()
    [failed] = messages(down)
    assert failed.status == "failed" and "Connection refused" in failed.last_error
    result = down.test_cli_runner().invoke(args=["outbox", "failed"])
    assert f"{failed.id}\tfailed" in result.output and "Connection refused" in result.output

    up = app_factory()
    client = operator_client(up)
    page = client.get("/operator/outbox")
    assert page.status_code == 200
    assert "password_changed to pat@example.org: Hello" in page_text(page)
    assert "Connection refused" in page_text(page)
    response = submit(client, f"/operator/outbox/{failed.id}/retry", page="/operator/outbox")
    assert response.status_code == 302
    assert mailbox.last_to("pat@example.org")["Subject"] == "Hello"
    assert messages(up)[0].status == "sent"
    assert "Every message has been delivered" in page_text(client.get("/operator/outbox"))


def test_subjects_never_carry_a_line_break_and_recipients_with_one_are_refused(app, mailbox):
    with app.test_request_context():
        send_mail(
            "pat@example.org", "Join request from Eve\r\nBcc: victim@example.org", "password_changed", user={}
        )
        with pytest.raises(ValueError):
            send_mail("pat@example.org\r\nBcc: victim@example.org", "Hi", "password_changed", user={})
        db.session.commit()
    message = mailbox.last_to("pat@example.org")
    assert message["Subject"] == "Join request from Eve Bcc: victim@example.org"
    assert message["Bcc"] is None and len(mailbox.messages) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="FOR UPDATE SKIP LOCKED is PostgreSQL's")
def test_a_claim_skips_rows_another_deliverer_has_locked(app_factory):
    app = app_factory(OUTBOX_DELIVERY="worker")
    with app.test_request_context():
        for n in range(3):
            send_mail(f"p{n}@example.org", "Hi", "password_changed", user={})
        db.session.commit()
    with app.app_context(), db.engine.connect() as other:
        ids = list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))
        # Another deliverer is in the middle of claiming the first message.
        other.execute(select(OutboxMessage.id).where(OutboxMessage.id == ids[0]).with_for_update())
        with app.app_context():
            _, got = delivery.claim()
        other.rollback()
    assert len(ids) == 3 and got == ids[1:]


def test_the_mail_of_a_change_that_rolls_back_is_never_sent(app, mailbox):
    with app.test_request_context():
        db.session.add(User(email="ghost@example.org", full_name="Ghost"))
        send_mail("ghost@example.org", "Welcome", "password_changed", user={})
        db.session.rollback()
        audit.record("test.event")
        send_mail("ghost@example.org", "Welcome", "password_changed", user={})
        db.session.rollback()
    assert messages(app) == [] and mailbox.messages == []


def test_each_kind_goes_to_the_sender_registered_for_it_and_an_unknown_kind_is_retried(
    app_factory, monkeypatch
):
    app = app_factory(OUTBOX_DELIVERY="worker")
    assert {"mail", "scim"} <= delivery.HANDLERS.keys()  # registered by create_app
    monkeypatch.setattr(delivery, "HANDLERS", dict(delivery.HANDLERS))
    sent = []
    delivery.register_handler("note", sent.append)
    with app.app_context():
        enqueue("note", {"n": 1})
        enqueue("unknown", {"n": 2})
        db.session.commit()
        outcome = delivery.deliver()
    assert sent == [{"n": 1}]
    assert (outcome.sent, outcome.retrying, outcome.failed) == (1, 1, 0)
    note, unknown = messages(app)
    assert note.status == "sent"
    assert unknown.status == "pending"
    assert "no handler is registered for 'unknown' messages" in unknown.last_error
