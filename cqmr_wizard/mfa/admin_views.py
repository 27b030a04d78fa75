"""An organization administrator's page about one member's two-step verification."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..models import Membership
from ..refusals import Refusal
from ..views import add_error
from . import admin, bp
from .confirm import Confirmation, confirmation, refused_status, reset_for


def member_or_404(user_id: int) -> Membership:
    """A member of the administrator's own organization; anyone else is not found."""
    membership = admin.find_member(g.membership.organization_id, user_id)
    if membership is None:
        abort(404)
    return membership


def member_page(membership: Membership, asked: Confirmation, status: int = 200):
    return render_template(
        "mfa/member.html",
        member=membership.user,
        form=asked.form,
        passkey_form=asked.passkey_form,
        has_passkey=asked.has_passkey,
        has_app=asked.has_app,
        unlock_form=ConfirmForm(prefix="unlock"),
        status=admin.member_status(membership.user_id),
        own_account=membership.user_id == current_user.id,
    ), status


@bp.route("/members/<int:user_id>")
@allow(Access.ORG_ADMIN)
def member(user_id: int):
    return member_page(member_or_404(user_id), confirmation(formdata=False))


@bp.route("/members/<int:user_id>/reset", methods=["POST"])
@allow(Access.ORG_ADMIN)
def reset_member(user_id: int):
    membership = member_or_404(user_id)
    asked = confirmation()
    try:
        admin.check_not_self(current_user, membership.user)
    except Refusal as error:
        add_error(asked.form, None, error.message)
        return member_page(membership, asked, error.status)
    # The administrator's own passkey or app code (a passkey-only administrator has no code).
    if (status := refused_status(asked)) is not None:
        return member_page(membership, asked, status)
    reset_for(current_user, membership.user)
    return redirect(url_for("mfa.member", user_id=user_id))


@bp.route("/members/<int:user_id>/unlock", methods=["POST"])
@allow(Access.ORG_ADMIN)
def unlock_member(user_id: int):
    membership = member_or_404(user_id)
    if ConfirmForm(prefix="unlock").validate_on_submit():
        try:
            admin.unlock_second_factor(current_user, membership.user)
        except admin.NotAllowed as error:
            asked = confirmation(formdata=False)
            add_error(asked.form, None, error.message)
            return member_page(membership, asked, 400)
        flash(f"Two-step verification for {membership.user.full_name} is unlocked.", "success")
    return redirect(url_for("mfa.member", user_id=user_id))
