"""Operators publish and withdraw training materials."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..models import TrainingResource
from ..models.training import AUDIENCES
from ..request_limits import accepts_upload
from ..views import add_error
from . import bp, services
from .forms import ResourceForm


def render_manage(form: ResourceForm, status: int = 200):
    return render_template(
        "training/manage.html",
        form=form,
        resources=services.all_resources(),
        audiences=AUDIENCES,
        withdraw_form=ConfirmForm(prefix="withdraw"),
        max_mb=current_app.config["TRAINING_PDF_MAX_BYTES"] // (1024 * 1024),
    ), status


@bp.route("/operator/training")
@allow(Access.OPERATOR)
def manage():
    return render_manage(ResourceForm())


@bp.route("/operator/training", methods=["POST"])
@allow(Access.OPERATOR)
@accepts_upload(lambda: int(current_app.config["TRAINING_PDF_MAX_BYTES"]) + 256 * 1024)
def add():
    form = ResourceForm()
    if form.validate_on_submit():
        try:
            pdf = services.read_pdf(form.pdf.data.stream) if form.has_file() else None
            resource = services.add_resource(
                current_user,
                title=form.title.data,
                description=form.description.data,
                audience=form.audience.data,
                url=form.url.data or None,
                pdf=pdf,
                filename=form.pdf.data.filename if pdf else None,
            )
        except services.TrainingError as error:
            add_error(form, error.field, error.message)
        else:
            flash(f"\u201c{resource.title}\u201d is published.", "success")
            return redirect(url_for("training.manage"))
    return render_manage(form, 400)


@bp.route("/operator/training/<int:resource_id>/withdraw", methods=["POST"])
@allow(Access.OPERATOR)
def withdraw(resource_id: int):
    resource = db.session.get(TrainingResource, resource_id)
    if resource is None:
        abort(404)
    if not ConfirmForm(prefix="withdraw").validate_on_submit():
        abort(400)
    try:
        services.withdraw_resource(current_user, resource)
    except services.TrainingError as error:
        flash(error.message, "warning")
        return render_manage(ResourceForm(formdata=None), 409)
    flash(f"\u201c{resource.title}\u201d was withdrawn.", "success")
    return redirect(url_for("training.manage"))


@bp.route("/operator/training/<int:resource_id>/file")
@allow(Access.OPERATOR)
def operator_download(resource_id: int):
    resource = db.session.get(TrainingResource, resource_id)
    if resource is None or not resource.is_file:
        abort(404)
    return services.send_resource_file(resource)
