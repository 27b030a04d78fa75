"""Signed paper copies returned by organizations: an operator reads, verifies or rejects them."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import audit
from ..access import Access, allow
from ..agreements import uploads as agreement_uploads
from ..agreements.services import AgreementError
from ..agreements.uploads import AlreadyReviewed
from ..audit.events import AuditEventType
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..models import AgreementUpload
from ..models.agreements import UPLOAD_PENDING
from ..views import add_error, pdf_download, render_form
from . import bp
from .forms import RejectUploadForm
from .organization import render_profile


def upload_or_404(org_id: int, upload_id: int) -> AgreementUpload:
    """The upload, looked up by (organization, id)."""
    upload = db.session.scalar(
        select(AgreementUpload)
        .options(joinedload(AgreementUpload.version), joinedload(AgreementUpload.uploaded_by))
        .where(AgreementUpload.organization_id == org_id, AgreementUpload.id == upload_id)
    )
    if upload is None:
        abort(404)
    return upload


def back_to_uploads(org_id: int):
    return redirect(url_for("operators.organization", org_id=org_id, _anchor="uploads"))


def refused_here(org_id: int, error: AgreementError):
    """The organization's page again, saying why nothing was changed (another operator's review
    came first: 409)."""
    flash(error.message, "warning")
    return render_profile(org_id, status=error.status)


@bp.route("/organizations/<int:org_id>/uploads/<int:upload_id>.pdf")
@allow(Access.OPERATOR)
def upload_document(org_id: int, upload_id: int):
    """The scan as the organization sent it, for the operator to read."""
    upload = upload_or_404(org_id, upload_id)
    path = agreement_uploads.upload_path(upload)
    if not path.is_file():
        abort(404)
    audit.record(
        AuditEventType.OPERATOR_UPLOAD_DOWNLOADED,
        actor_id=current_user.id,
        organization_id=org_id,
        details={"upload_id": upload.id},
    )
    db.session.commit()
    return pdf_download(path.read_bytes(), f"upload-{upload.id}.pdf")


@bp.route("/organizations/<int:org_id>/uploads/<int:upload_id>/verify", methods=["POST"])
@allow(Access.OPERATOR)
def verify_upload(org_id: int, upload_id: int):
    upload = upload_or_404(org_id, upload_id)
    if not ConfirmForm(prefix=f"verify-{upload_id}").validate_on_submit():
        abort(400)
    try:
        agreement_uploads.verify_upload(upload, current_user)
    except AgreementError as error:
        return refused_here(org_id, error)
    flash(f"The signed copy of the {upload.version.title} is verified; the signer has been told.", "success")
    return back_to_uploads(org_id)


@bp.route("/organizations/<int:org_id>/uploads/<int:upload_id>/reject", methods=["GET", "POST"])
@allow(Access.OPERATOR)
def reject_upload(org_id: int, upload_id: int):
    upload = upload_or_404(org_id, upload_id)
    form = RejectUploadForm()
    if upload.status != UPLOAD_PENDING:
        return refused_here(org_id, AlreadyReviewed(agreement_uploads.already_reviewed(upload, current_user)))
    if form.validate_on_submit():
        try:
            agreement_uploads.reject_upload(upload, current_user, form.reason.data)
        except AlreadyReviewed as error:
            return refused_here(org_id, error)
        except AgreementError as error:
            add_error(form, error.field, error.message)
        else:
            flash(
                f"The signed copy of the {upload.version.title} is rejected; the signer has been told why.",
                "success",
            )
            return back_to_uploads(org_id)
    return render_form("operators/reject_upload.html", form, upload=upload, org_id=org_id)
