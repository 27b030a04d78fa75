"""An organization administrator's page about one member's two-step verification."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..models import Membership
from ..refusals import Refusal
from ..views import add_error
from . import admin, bp, services
from .forms import ReauthenticateForm


def member_or_404(user_id: int) -> Membership:
    """A member of the administrator's own organization; anyone else is not found."""
    membership = admin.find_member(g.membership.organization_id, user_id)
    if membership is None:
        abort(404)
    return membership


def member_page(membership: Membership, form: ReauthenticateForm, status: int = 200):
    return render_template(
        "mfa/member.html",
        member=membership.user,
        form=form,
        unlock_form=ConfirmForm(prefix="unlock"),
        status=admin.member_status(membership.user_id),
        own_account=membership.user_id == current_user.id,
    ), status


@bp.route("/members/<int:user_id>")
@allow(Access.ORG_ADMIN)
def member(user_id: int):
    return member_page(member_or_404(user_id), ReauthenticateForm())


@bp.route("/members/<int:user_id>/reset", methods=["POST"])
@allow(Access.ORG_ADMIN)
def reset_member(user_id: int):
    membership = member_or_404(user_id)
    form = ReauthenticateForm()
    if form.validate_on_submit():
        try:
            admin.check_not_self(current_user, membership.user)
            services.reauthenticate(current_user, form.code.data)
        except Refusal as error:  # not allowed for this member, or the code is not right
            add_error(form, error.field, error.message)
            return member_page(membership, form, error.status)
        else:
            admin.reset_second_factor(current_user, membership.user)
            flash(
                f"Two-step verification for {membership.user.full_name} was reset. They have "
                "been signed out and will set it up again when they next sign in.",
                "success",
            )
            return redirect(url_for("mfa.member", user_id=user_id))
    return member_page(membership, form, 400)


@bp.route("/members/<int:user_id>/unlock", methods=["POST"])
@allow(Access.ORG_ADMIN)
def unlock_member(user_id: int):
    membership = member_or_404(user_id)
    if ConfirmForm(prefix="unlock").validate_on_submit():
        try:
            admin.unlock_second_factor(current_user, membership.user)
        except admin.NotAllowed as error:
            form = ReauthenticateForm(formdata=None)
            add_error(form, None, error.message)
            return member_page(membership, form, 400)
        flash(f"Two-step verification for {membership.user.full_name} is unlocked.", "success")
    return redirect(url_for("mfa.member", user_id=user_id))
