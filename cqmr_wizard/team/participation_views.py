"""The administrator's page to ask for the end of their organization's participation."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..views import accepted
from . import bp, participation
from .forms import OffboardingRequestForm
from .services import TeamError


def render_participation(form: OffboardingRequestForm, withdraw_form: ConfirmForm, status: int = 200):
    org = g.membership.organization
    return render_template(
        "team/participation.html",
        form=form,
        withdraw_form=withdraw_form,
        org=org,
        declined=None if org.offboarding_requested_at else participation.last_declined(org.id),
    ), status


@bp.route("/team/participation", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def end_participation():
    """Ask a CQMR operator to end the organization's participation (or see the request waiting)."""
    form = OffboardingRequestForm()
    org = g.membership.organization
    if form.validate_on_submit() and accepted(
        form, lambda: participation.request_offboarding(current_user, org, form.reason.data), TeamError
    ):
        flash(
            "Your request is sent. A CQMR operator will confirm it; until then nothing changes "
            "and everyone keeps their access.",
            "success",
        )
        return redirect(url_for("team.end_participation"))
    status = 400 if form.errors or form.form_errors else 200
    return render_participation(form, ConfirmForm(prefix="withdraw"), status)


@bp.route("/team/participation/withdraw", methods=["POST"])
@allow(Access.ORG_ADMIN)
def withdraw_offboarding():
    """Withdraw the organization's request before an operator answers it."""
    withdraw_form = ConfirmForm(prefix="withdraw")
    if not withdraw_form.validate_on_submit():
        abort(400)
    if not accepted(
        withdraw_form,
        lambda: participation.withdraw_request(current_user, g.membership.organization),
        TeamError,
    ):
        return render_participation(OffboardingRequestForm(formdata=None), withdraw_form, 409)
    flash("Your request is withdrawn. Your organization keeps taking part in the CQMR.", "success")
    return redirect(url_for("team.end_participation"))
