"""The outbox's paths under faults, against real mail servers and real `flask outbox deliver`
processes: retries wait base, 2×base, 4×base… (capped); a deliverer killed in the middle of a
delivery leaves a lease that runs out, and the mail then arrives exactly once; the `--loop`
worker delivers what is queued while it runs, runs the clock passes, and stops cleanly on
SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.mail import send_mail
from cqmr_wizard.models import Invitation, OrganizationProgress, OrganizationTaskStatus
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.outbox import delivery

from .helpers import free_port, submit
from .smtp_gate import SmtpGate
from .team_support import admin_with_org, signed_in
from .test_outbox import PATIENCE, ROOT, messages, wait_for, write_instance

FLASK = str(Path(sys.executable).parent / "flask")


@dataclass
class MoodyServer:
    """An SMTP server that answers 451 (try again later) to every message until told to accept."""

    accepting: bool = False
    refused: int = 0
    accepted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if not self.accepting:
                self.refused += 1
                return "451 4.3.0 Mail server busy, try again later"
            self.accepted.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def moody():
    server = MoodyServer()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    server.port = controller.port
    yield server
    controller.stop()


@pytest.fixture
def gate(smtp_server):
    controller, _ = smtp_server
    held = SmtpGate(controller.port)
    yield held
    held.close()


def queue_mail(app, *recipients: str) -> None:
    with app.test_request_context():
        for to in recipients:
            send_mail(to, "Hello", "password_changed", user={"full_name": "Pat"})
        db.session.commit()


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_a_refused_mail_is_retried_after_base_then_twice_then_four_times_capped_and_sent_once(
    app_factory, moody, clock
):
    base, cap = timedelta(seconds=30), timedelta(seconds=100)
    app = app_factory(
        MAIL_PORT=moody.port, OUTBOX_DELIVERY="worker", OUTBOX_RETRY_BASE=base, OUTBOX_RETRY_MAX=cap
    )
    queue_mail(app, "pat@example.org")

    def attempt() -> tuple[datetime, datetime]:
        """Run a deliverer; return the moments just before and after it."""
        before = utcnow()
        with app.app_context():
            delivery.deliver()
        return before, utcnow()

    before, after = attempt()
    for number, delay in enumerate((base, 2 * base, cap, cap), start=1):
        [message] = messages(app)
        assert (message.status, message.attempts, moody.refused) == ("pending", number, number)
        assert "451" in message.last_error
        # The next attempt is `delay` after this one: not a second before.
        assert before + delay <= aware(message.next_attempt_at) <= after + delay
        clock.advance(delay.total_seconds() - 2)
        attempt()
        assert (messages(app)[0].attempts, moody.refused) == (number, number)
        clock.advance(2)
        if number == 4:
            moody.accepting = True  # the server is back before the fifth attempt
        before, after = attempt()

    [message] = messages(app)
    assert (message.status, message.attempts, message.last_error) == ("sent", 5, None)
    assert moody.accepted == ["pat@example.org"]
    clock.advance(3600)
    attempt()
    assert moody.accepted == ["pat@example.org"]  # sent once


def test_a_deliverer_killed_mid_delivery_leaves_a_lease_that_runs_out_then_the_mail_arrives_once(
    app_factory, smtp_server, gate, mailbox, clock, tmp_path
):
    controller, _ = smtp_server
    app = app_factory(OUTBOX_DELIVERY="worker")  # the app's own deliverers reach the real server
    queue_mail(app, "pat@example.org")
    env = write_instance(tmp_path / "doomed", app, MAIL_SERVER="127.0.0.1", MAIL_PORT=gate.port)
    doomed = subprocess.Popen([FLASK, "outbox", "deliver"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        assert gate.connected.wait(PATIENCE)  # it claimed the message and is talking to the server
        doomed.send_signal(signal.SIGKILL)
        assert doomed.wait(PATIENCE) == -signal.SIGKILL
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    [held] = messages(app)
    assert held.status == "pending" and held.attempts == 0 and held.claim_token is not None
    lease_ends = aware(held.claimed_until)
    assert lease_ends > utcnow()

    # While the dead deliverer's lease lasts, no other deliverer takes the message: not another
    # process, not this one.
    env = write_instance(tmp_path / "second", app, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    second = subprocess.run(
        [FLASK, "outbox", "deliver"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=PATIENCE
    )
    assert second.returncode == 0 and "0 sent" in second.stdout, second.stdout + second.stderr
    with app.app_context():
        assert delivery.deliver().sent == 0
    assert mailbox.messages == []

    clock.advance((lease_ends - utcnow()).total_seconds() + 1)  # the lease has run out
    with app.app_context():
        assert delivery.deliver().sent == 1
    [sent] = messages(app)
    assert sent.status == "sent" and sent.attempts == 1 and sent.claim_token is None
    gate.release()  # the dead deliverer's connection goes nowhere: it was closed with the process
    with app.app_context():
        assert delivery.deliver().sent == 0
    assert [m["To"] for m in mailbox.messages] == ["pat@example.org"]


def start_loop(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [FLASK, "outbox", "deliver", "--loop"],
        cwd=ROOT,
        env={**env, "OUTBOX_POLL_INTERVAL": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> tuple[int, str]:
    try:
        out, err = process.communicate(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"the worker did not stop: {out}{err}") from None
    return process.returncode, out + err


def team_task(app) -> str:
    with app.app_context():
        return db.session.scalar(
            select(OrganizationTaskStatus.status).where(OrganizationTaskStatus.task_key == "team")
        )


def test_the_loop_worker_delivers_what_is_queued_while_it_runs_keeps_time_and_stops_on_sigterm(
    app_factory, smtp_server, mailbox, tmp_path
):
    controller, _ = smtp_server
    app = app_factory(OUTBOX_DELIVERY="worker")
    _, org_id = admin_with_org(app, "ada@alpha.example.org", roles=("admin", "signer"))
    admin = signed_in(app, "ada@alpha.example.org")
    invited = {"full_name": "Ivy Invitee", "email": "ivy@alpha.example.org", "roles": ["viewer"]}
    assert submit(admin, "/team/invite", invited).status_code == 302
    assert team_task(app) == "IN_PROGRESS"  # an invitation is open
    env = write_instance(tmp_path / "worker", app, MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    worker = start_loop(env)
    try:
        wait_for(lambda: mailbox.to("ivy@alpha.example.org"), "the invitation queued before it started")
        queue_mail(app, "pat@example.org", "sam@example.org")
        wait_for(lambda: mailbox.to("sam@example.org"), "the mail queued while it runs")

        # Time alone closes the invitation (written past the commit pipeline, as the passing of
        # time would): only the worker's clock pass brings the stored task list up to date.
        past = utcnow() - timedelta(minutes=1)
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(update(Invitation).values(expires_at=past))
            connection.execute(
                update(OrganizationProgress)
                .where(OrganizationProgress.organization_id == org_id)
                .values(refresh_due_at=past)
            )
        wait_for(lambda: team_task(app) == "COMPLETED", "the worker's clock pass")
        worker.send_signal(signal.SIGTERM)
        code, output = finished(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert code == 0, output
    assert "stopped on SIGTERM" in output and "Traceback" not in output
    assert sorted(m["To"] for m in mailbox.messages) == [
        "ivy@alpha.example.org",
        "pat@example.org",
        "sam@example.org",
    ]
    assert {m.status for m in messages(app)} == {"sent"}


def test_sigint_in_the_middle_of_a_delivery_finishes_it_and_hands_back_the_rest_of_the_batch(
    app_factory, gate, mailbox, tmp_path
):
    app = app_factory(OUTBOX_DELIVERY="worker")  # the app's own deliverer reaches the real server
    queue_mail(app, "first@example.org", "second@example.org")
    worker = start_loop(
        write_instance(tmp_path / "worker", app, MAIL_SERVER="127.0.0.1", MAIL_PORT=gate.port)
    )
    try:
        assert gate.connected.wait(PATIENCE)  # both claimed in one batch; the first is being sent
        worker.send_signal(signal.SIGINT)
        gate.release()
        code, output = finished(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert code == 0, output
    assert "stopped on SIGINT" in output and "Traceback" not in output and "Aborted" not in output
    first, second = messages(app)
    assert (first.status, first.attempts) == ("sent", 1)  # finished, not left half-sent
    # The rest of the batch was handed back: another deliverer takes it now, not in 5 minutes.
    assert (second.status, second.attempts, second.claim_token) == ("pending", 0, None)
    with app.app_context():
        assert delivery.deliver().sent == 1
    assert sorted(m["To"] for m in mailbox.messages) == ["first@example.org", "second@example.org"]
