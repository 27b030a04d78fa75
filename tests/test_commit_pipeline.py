"""The commit pipeline: one ordered list of stages built by create_app, nothing attached at
import time, and an audit event recorded by any stage before the chain is chained."""

import subprocess
import sys

import pytest
from sqlalchemy import select

from cqmr_wizard import audit, commit_pipeline
from cqmr_wizard.audit import verify_chain
from cqmr_wizard.commit_pipeline import Stage, pipeline_of
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, User

from .builders import make_user


def test_the_stages_run_in_the_order_create_app_states(app):
    assert pipeline_of(app).names() == [
        "projection",
        "going live",
        "provisioning",
        "audit chain",
        "activity times",
        "audit checkpoint",
        "outbox delivery",
        "metrics",
    ]


def _with_stage(app, name: str, run, before: str) -> None:
    commit_pipeline.install(app, pipeline_of(app).with_stage(Stage(name, run), before=before))


def test_an_event_recorded_by_the_last_stage_before_the_chain_is_chained(app):
    user_id = make_user(app)

    def provisioning_like(session):
        audit.record("test.recorded_by_a_stage", subject_user_id=user_id)

    _with_stage(app, "records an event", provisioning_like, before="audit chain")
    with app.app_context():
        db.session.get(User, user_id).full_name = "Pat Renamed"
        db.session.commit()
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.event_type == "test.recorded_by_a_stage")
        )
        assert event is not None and event.hash and event.prev_hash
        assert verify_chain().ok


def test_an_event_recorded_after_the_chain_fails_the_commit_instead_of_vanishing(app):
    user_id = make_user(app)

    def too_late(session):
        audit.record("test.too_late", subject_user_id=user_id)

    _with_stage(app, "records too late", too_late, before="activity times")
    with app.app_context():
        db.session.get(User, user_id).full_name = "Pat Renamed"
        with pytest.raises(RuntimeError, match="after the audit stage"):
            db.session.commit()
        db.session.rollback()
        assert db.session.get(User, user_id).full_name == "Pat Example"


def test_a_savepoint_release_runs_no_stage_the_real_commit_runs_each_once(app):
    runs = []
    _with_stage(
        app, "counts", lambda session: runs.append(session.in_nested_transaction()), before="projection"
    )
    with app.app_context():
        with db.session.begin_nested():
            db.session.add(User(email="sam@example.org", full_name="Sam"))
        assert runs == []
        db.session.commit()
    assert runs == [False]


def test_no_module_attaches_a_session_listener_when_imported():
    """Importing every module of the package (without building an app) listens to nothing:
    what happens at commit is only what create_app builds."""
    script = """
import importlib, pkgutil
import cqmr_wizard
from sqlalchemy.orm import Session
from flask_sqlalchemy.session import Session as FlaskSession
skip = ("cqmr_wizard.migrations", "cqmr_wizard.local_cqmr.__main__", "cqmr_wizard.dev_idp")
for info in pkgutil.walk_packages(cqmr_wizard.__path__, "cqmr_wizard."):
    if not info.name.startswith(skip):
        importlib.import_module(info.name)
names = ("before_commit", "after_commit", "after_flush", "do_orm_execute", "after_rollback",
         "after_soft_rollback", "after_transaction_end", "before_flush")
from cqmr_wizard.extensions import db
sessions = {"Session": Session(), "FlaskSession": FlaskSession(db)}
found = [(kind, n) for kind, s in sessions.items() for n in names if len(getattr(s.dispatch, n))]
print(found)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={"CQMR_ENV": "test"}, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
