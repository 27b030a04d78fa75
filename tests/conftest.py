"""Fixtures: a fresh app and database per test, on SQLite or on PostgreSQL (DATABASE_URL),
a real SMTP server on loopback, and helpers that speak HTTP as a user would."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from cqmr_wizard import create_app
from cqmr_wizard.extensions import db
from cqmr_wizard.models import base

from .helpers import CLOCK, Clock, free_port

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = POSTGRES_URL.startswith(("postgres://", "postgresql://", "postgresql+psycopg://"))


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + POSTGRES_URL if ON_POSTGRES else 'SQLite (file per test)'}"


@dataclass
class Mailbox:
    """Messages received by the loopback SMTP server."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str) -> Message:
        found = self.to(address)
        assert found, f"no mail to {address}; mailbox has {[m['To'] for m in self.messages]}"
        return found[-1]


@pytest.fixture(scope="session")
def smtp_server():
    # aiosmtpd logs every connection at INFO from its own thread, which the app's root handler
    # would write between tests too; its warnings still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server) -> Mailbox:
    _, box = smtp_server
    box.clear()
    return box


@pytest.fixture(scope="session")
def pg_schema():
    """A schema of this test run's own on the PostgreSQL server, so that runs never collide."""
    if not ON_POSTGRES:
        yield None
        return
    name = f"t_{os.getpid()}_{secrets.token_hex(3)}"
    url = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1).replace(
        "postgres://", "postgresql+psycopg://", 1
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_tables_created():
    return {"done": False}


def database_settings(tmp_path, pg_schema) -> dict:
    if pg_schema is None:
        return {"DATABASE_URL": f"sqlite:///{tmp_path}/test.sqlite3", "SQLALCHEMY_ENGINE_OPTIONS": {}}
    return {
        "DATABASE_URL": POSTGRES_URL,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "connect_args": {"options": f"-csearch_path={pg_schema}"},
        },
    }


def make_config(tmp_path, pg_schema, smtp_port: int | None, **overrides) -> dict:
    config = {
        "TESTING": True,
        "CQMR_ENV": "test",
        "SECRET_KEY": "test-secret-key",
        "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 64,
        "MAIL_SERVER": "127.0.0.1" if smtp_port else None,
        "MAIL_PORT": smtp_port or 25,
        "MAIL_OUTBOX": str(tmp_path / "outbox"),
        # The request's own mail is delivered in its thread right after commit, so that tests
        # read it at once (tests of the asynchronous path set "background").
        "OUTBOX_DELIVERY": "inline",
        "AUDIT_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.jsonl"),
        "SERVER_NAME": "localhost",
        "PREFERRED_URL_SCHEME": "http",
        "SESSION_COOKIE_SECURE": False,
        "HSTS": False,
        "WTF_CSRF_SSL_STRICT": False,
        **database_settings(tmp_path, pg_schema),
    }
    config.update(overrides)
    return config


def reset_database(app, pg_schema, created: dict) -> None:
    with app.app_context():
        if pg_schema is None:
            db.create_all()
            return
        if not created["done"]:
            db.create_all()
            created["done"] = True
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            # audit_event refuses TRUNCATE by trigger; the fixture (a superuser) switches it off.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app_factory(tmp_path, pg_schema, pg_tables_created, smtp_server, monkeypatch):
    """Build apps sharing this test's database; the first call resets it."""
    monkeypatch.setenv("CQMR_INSTANCE_PATH", str(tmp_path / "instance"))
    controller, _ = smtp_server
    built = []
    # Instances of one deployment share its keys, as they share its database.
    shared = {"MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "AUDIT_HMAC_KEYS": secrets.token_hex(32)}

    def build(**overrides):
        app = create_app(make_config(tmp_path, pg_schema, controller.port, **{**shared, **overrides}))
        if not built:
            reset_database(app, pg_schema, pg_tables_created)
        built.append(app)
        return app

    build.built = built
    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    """The application's clock, which a test moves forward instead of sleeping."""
    CLOCK.offset = timedelta(0)
    CLOCK.real_time_only = False
    monkeypatch.setattr(base, "time_source", CLOCK.now)
    return CLOCK


@pytest.fixture(autouse=True)
def progress_verified(request):
    """After every test that built an app, the progress projection equals the live facts."""
    if "app_factory" not in request.fixturenames:
        yield
        return
    built = request.getfixturevalue("app_factory").built
    yield
    report = getattr(request.node, "rep_call", None)
    if not built or report is None or not report.passed:
        return
    from cqmr_wizard.tasks.cli import differences

    with built[0].app_context():
        found = list(differences())
        db.session.rollback()
    assert not found, "the progress projection drifted from the facts:\n" + "\n".join(found)


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item so fixtures can see a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


from .browser import _stop_live_servers, chromium, live_server, page  # noqa: E402,F401
from .idp import idp, start_idp  # noqa: E402,F401
from .local_cqmr import cqmr_stack, local_cqmr, start_local_cqmr  # noqa: E402,F401
