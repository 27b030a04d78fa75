"""Landing page, the task list, help and health check."""

from __future__ import annotations

import logging

from flask import g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..access import Access, allow, fully_authenticated
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..tasks.engine import missing_required
from ..tasks.task_list import projected_states
from . import bp

log = logging.getLogger(__name__)


@bp.route("/")
@allow(Access.PUBLIC)
def index():
    if fully_authenticated():
        return redirect(url_for("main.tasks"))
    return render_template("main/index.html")


@bp.route("/tasks")
@allow(Access.USER)
def tasks():
    if current_user.is_operator:  # operators are never members; their home is the console
        return redirect(url_for("operators.dashboard"))
    states = projected_states(current_user, g.membership)
    return render_template(
        "main/tasks.html",
        org_states=[s for s in states if s.task.scope == "organization"],
        user_states=[s for s in states if s.task.scope == "user"],
        completed=sum(1 for s in states if s.completed),
        missing=missing_required(states),
        total=len(states),
        membership=g.membership,
        form=ConfirmForm(),
    )


@bp.route("/help")
@allow(Access.PUBLIC)
def help_page():
    return render_template("main/help.html")


@bp.route("/healthz")
@allow(Access.PUBLIC)
def health():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("health check: the database is unreachable", exc_info=True)
        return {"status": "unavailable"}, 503
    return {"status": "ok"}
