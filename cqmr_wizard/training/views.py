"""The member's training page: what is meant for them, and marking items reviewed."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..models.training import AUDIENCES
from . import bp, services
from .facts import training_counts, training_status


@bp.route("/training")
@allow(Access.MEMBER)
def index():
    membership = g.membership
    counts = training_counts([membership.organization_id])[membership.organization_id]
    return render_template(
        "training/index.html",
        resources=services.resources_for(membership),
        reviews=services.review_state(membership),
        status=training_status(**counts),
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
