"""The "Go to CQMR" action and the page that says what is still missing."""

from __future__ import annotations

from flask import g, redirect, render_template, request
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from . import bp, services


@bp.route("/go-to-cqmr", methods=["GET", "POST"])
@allow(Access.MEMBER)
def go():
    """GET shows whether the gate is open; POST (from the task list) goes through it."""
    if request.method == "GET":
        missing = services.check(current_user, g.membership)
        if missing:
            return render_template("gate/missing.html", missing=missing), 403
        return render_template("gate/ready.html", form=ConfirmForm())
    try:
        return redirect(services.open_gate(current_user, g.membership), 303)
    except services.GateClosed as closed:
        return render_template("gate/missing.html", missing=closed.missing), 403
    except services.GateNotConfigured:
        return render_template("gate/unavailable.html"), 503
