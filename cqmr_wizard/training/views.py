"""The member's training page: what is meant for them, and marking items reviewed."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from .. import tasks  # a module, not its names: tasks.facts imports training.facts
from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..models.training import AUDIENCES
from . import bp, services


@bp.route("/training")
@allow(Access.MEMBER)
def index():
    membership = g.membership
    facts = tasks.load_facts(current_user, membership)
    state = next(s for s in tasks.task_statuses(facts, tasks.TASKS) if s.task.key == "training")
    return render_template(
        "training/index.html",
        resources=services.resources_for(membership),
        reviews=services.review_state(membership),
        status=state.status,
        audiences=AUDIENCES,
        form=ConfirmForm(),
    )


@bp.route("/training/<int:resource_id>/file")
@allow(Access.MEMBER)
def download(resource_id: int):
    resource = services.find_for(g.membership, resource_id)
    if resource is None or not resource.is_file:
        abort(404)
    return services.send_resource_file(resource)


@bp.route("/training/<int:resource_id>/reviewed", methods=["POST"])
@allow(Access.MEMBER)
def mark_reviewed(resource_id: int):
    resource = services.find_for(g.membership, resource_id)
    if resource is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if services.mark_reviewed(current_user, g.membership, resource):
        flash(f"You marked \u201c{resource.title}\u201d as reviewed.", "success")
    return redirect(url_for("training.index", _anchor=f"resource-{resource.id}"))
