"""Outgoing messages that could not be delivered: operators see the error and retry them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..outbox import failures
from . import bp


@bp.route("/outbox")
@allow(Access.OPERATOR)
def outbox():
    return render_template(
        "operators/outbox.html", messages=failures.failed_messages(), retry_form=ConfirmForm
    )


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@allow(Access.OPERATOR)
def retry_message(message_id: int):
    if not ConfirmForm(prefix=f"retry-{message_id}").validate_on_submit():
        abort(400)
    if not failures.retry([message_id], actor_id=current_user.id):
        abort(404)
    flash(f"Message {message_id} was sent again; if it failed once more it is still listed below.", "info")
    return redirect(url_for("operators.outbox"))
