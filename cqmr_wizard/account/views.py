"""The "Your account" page: one place for what belongs to the person rather than to onboarding."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ChangePasswordForm, ConfirmForm
from ..extensions import per_source
from ..mfa import admin as mfa_admin
from ..refusals import Refusal
from ..sso import protocol
from ..sso.services import identity_for
from ..views import refused, render_form
from . import bp, password_change


@bp.route("/account")
@allow(Access.USER)
def index():
    """The person's OneHealthPort link, two-step verification and sessions, in one place."""
    issuer = protocol.issuer()
    return render_template(
        "account/index.html",
        identity=identity_for(current_user.id, issuer) if issuer else None,
        sso_enabled=protocol.enabled(),
        second_factor=mfa_admin.member_status(current_user.id),
        form=ConfirmForm(),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@allow(Access.USER)
@per_source("RATE_LIMIT_SIGN_IN")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            password_change.change_password(
                current_user, form.current_password.data, form.new_password.data, form.code.data
            )
        except Refusal as refusal:  # an account rule, or the second factor's
            return refused("account/change_password.html", form, refusal)
        flash("Your password has been changed. Every other session has been signed out.", "success")
        return redirect(url_for("main.tasks"))
    return render_form("account/change_password.html", form)
