"""The operator's page about one organization, and what an operator may do there."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..access import Access, allow
from ..agreements.windows import agreement_rows
from ..audit.events import AuditEventType
from ..auth.forms import ConfirmForm
from ..csv_export import csv_response
from ..extensions import db
from ..mfa import admin as mfa_admin
from ..mfa.confirm import Confirmation, confirmation, refused_status, reset_for
from ..models import Membership, Organization, OrganizationProgress
from ..models.base import utcnow
from ..models.organizations import ELIGIBILITY_CHOICES, ORGANIZATION_TYPES, ROLES
from ..provisioning import services as provisioning
from ..team import review_export
from ..views import add_error, pdf_download
from . import bp, participation, services
from .forms import SuspendForm
from .profile import find_signature, load_profile


def render_profile(org_id: int, *, suspend_form: SuspendForm | None = None, status: int = 200):
    profile = load_profile(org_id)
    if profile is None:
        abort(404)
    progress = db.session.get(OrganizationProgress, org_id)
    return render_template(
        "operators/organization.html",
        profile=profile,
        org=profile.organization,
        form=suspend_form,
        suspend_form=suspend_form or SuspendForm(),
        reactivate_form=ConfirmForm(prefix="reactivate"),
        verify_form=ConfirmForm,
        offboarding_requested=participation.request_pending(profile.organization),
        participants=participation.people(profile.organization),
        provisioning=provisioning.states_with_people(org_id),
        agreements=agreement_rows(org_id),
        scim_enabled=bool(current_app.config.get("CQMR_SCIM_URL")),
        roles=ROLES,
        eligibility=ELIGIBILITY_CHOICES,
        types=ORGANIZATION_TYPES,
        review_due=progress.access_review_due_at if progress is not None else None,
        now=utcnow(),
    ), status


def organization_or_404(org_id: int) -> Organization:
    org = db.session.get(Organization, org_id)
    if org is None:
        abort(404)
    return org


@bp.route("/organizations/<int:org_id>")
@allow(Access.OPERATOR)
def organization(org_id: int):
    return render_profile(org_id)


@bp.route("/organizations/<int:org_id>/suspend", methods=["POST"])
@allow(Access.OPERATOR)
def suspend(org_id: int):
    org = organization_or_404(org_id)
    form = SuspendForm()
    if form.validate_on_submit():
        try:
            services.suspend_organization(current_user, org, form.reason.data)
        except services.OperatorError as error:
            add_error(form, None, error.message)
        else:
            flash(
                f"{org.legal_name or 'The organization'} is suspended. Its members cannot go "
                "to the CQMR until you reactivate it.",
                "success",
            )
            return redirect(url_for("operators.organization", org_id=org_id))
    return render_profile(org_id, suspend_form=form, status=400)


@bp.route("/organizations/<int:org_id>/reactivate", methods=["POST"])
@allow(Access.OPERATOR)
def reactivate(org_id: int):
    org = organization_or_404(org_id)
    if not ConfirmForm(prefix="reactivate").validate_on_submit():
        abort(400)
    try:
        services.reactivate_organization(current_user, org)
    except services.OperatorError as error:
        flash(error.message, "warning")
        return render_profile(org_id, status=409)
    flash(f"{org.legal_name or 'The organization'} is active again.", "success")
    return redirect(url_for("operators.organization", org_id=org_id))


def member_or_404(org_id: int, user_id: int) -> Membership:
    membership = mfa_admin.find_member(org_id, user_id)
    if membership is None:
        abort(404)
    return membership


def render_reset(membership: Membership, asked: Confirmation, status: int = 200):
    return render_template(
        "operators/reset_second_factor.html",
        form=asked.form,
        passkey_form=asked.passkey_form,
        has_passkey=asked.has_passkey,
        has_app=asked.has_app,
        membership=membership,
        member=membership.user,
        org=membership.organization,
        status=mfa_admin.member_status(membership.user_id),
    ), status


@bp.route("/organizations/<int:org_id>/members/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
@allow(Access.OPERATOR)
def reset_second_factor(org_id: int, user_id: int):
    """Remove a member's second factor, after the operator confirms it is them (their passkey
    or a fresh code of their own)."""
    membership = member_or_404(org_id, user_id)
    if request.method == "GET":
        return render_reset(membership, confirmation(formdata=False))
    asked = confirmation()
    if (status := refused_status(asked)) is not None:
        return render_reset(membership, asked, status)
    reset_for(current_user, membership.user)
    return redirect(url_for("operators.organization", org_id=org_id, _anchor="members"))


@bp.route("/organizations/<int:org_id>/members/<int:user_id>/provisioning/retry", methods=["POST"])
@allow(Access.OPERATOR)
def retry_provisioning(org_id: int, user_id: int):
    """Send a member's state to the CQMR again (after fixing what made it fail)."""
    if not ConfirmForm(prefix=f"retry-{user_id}").validate_on_submit():
        abort(400)
    state = provisioning.retry(current_user, org_id, user_id)
    if state is None:
        abort(404)
    flash(f"{state.user.full_name}'s CQMR account will be updated again in a moment.", "success")
    return redirect(url_for("operators.organization", org_id=org_id, _anchor="provisioning"))


@bp.route(
    "/organizations/<int:org_id>/signatures/<int:signature_id>/<any('certificate', 'signed-copy'):kind>.pdf"
)
@allow(Access.OPERATOR)
def signature_document(org_id: int, signature_id: int, kind: str):
    """The certificate of completion or the signed copy of one of the organization's signatures."""
    signature = find_signature(org_id, signature_id)
    if signature is None:
        abort(404)
    audit.record(
        AuditEventType.OPERATOR_DOCUMENT_DOWNLOADED,
        actor_id=current_user.id,
        organization_id=org_id,
        details={"signature_id": signature_id, "document": kind},
    )
    db.session.commit()
    body = signature.certificate_pdf if kind == "certificate" else signature.signed_copy_pdf
    return pdf_download(body, f"signature-{signature_id}-{kind}.pdf")


@bp.route("/organizations/<int:org_id>/access-reviews.csv")
@allow(Access.OPERATOR)
def access_reviews_csv(org_id: int):
    """Every access review the organization completed, for an auditor (audited)."""
    organization_or_404(org_id)
    count = review_export.review_count(org_id)
    services.record_export(current_user, "access_reviews", {"organization_id": org_id}, count)
    return csv_response(f"access-reviews-{org_id}", review_export.HEADER, review_export.export_rows(org_id))
