"""Sign-up, email verification, sign-in, sign-out and password reset pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Access, allow
from ..security import safe_next_path
from ..views import add_error, render_form
from . import bp, services, tokens
from .forms import ConfirmForm, EmailOnlyForm, NewPasswordForm, SignInForm, SignUpForm

TOKEN_PROBLEMS = {
    "unknown": "This link is not valid. Check that you copied the whole link from the email.",
    "used": "This link has already been used.",
    "expired": "This link has expired.",
}


def link_problem(error: tokens.TokenError, purpose: str):
    """The page for a link that cannot be used: 404 if unknown, 410 if used or expired."""
    status = 404 if error.reason == "unknown" else 410
    page = render_template(
        "auth/link_problem.html", problem=TOKEN_PROBLEMS[error.reason], reason=error.reason, purpose=purpose
    )
    return page, status


@bp.route("/sign-up", methods=["GET", "POST"])
@allow(Access.ANONYMOUS)
def sign_up():
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = services.sign_up(form.full_name.data, form.email.data, form.password.data)
        except services.AccountError as error:
            add_error(form, error.field, error.message)
        else:
            return redirect(url_for("auth.check_email", email=user.email))
    return render_form("auth/sign_up.html", form)


@bp.route("/check-your-email")
@allow(Access.ANONYMOUS)
def check_email():
    return render_template(
        "auth/check_email.html",
        email=request.args.get("email", "")[:254],
        form=EmailOnlyForm(email=request.args.get("email", "")[:254]),
    )


@bp.route("/verify-email/resend", methods=["POST"])
@allow(Access.ANONYMOUS)
def resend_verification():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        try:
            services.resend_verification(form.email.data)
        except services.AccountError as error:
            add_error(form, error.field, error.message)
        else:
            return redirect(url_for("auth.check_email", email=form.email.data))
    return render_form("auth/check_email.html", form, email="")


@bp.route("/verify-email/<token>")
@allow(Access.PUBLIC)
def verify_email(token: str):
    try:
        services.verify_email(token)
    except tokens.TokenError as error:
        return link_problem(error, "verify")
    flash("Your email address is confirmed. You can now sign in.", "success")
    if current_user.is_authenticated:
        return redirect(url_for("main.tasks"))
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-in", methods=["GET", "POST"])
@allow(Access.ANONYMOUS)
def sign_in():
    form = SignInForm()
    next_path = safe_next_path(request.args.get("next"))
    unverified = False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.SignInRefused as refused:
            add_error(form, "email" if refused.unverified else "password", refused.message)
            unverified = refused.unverified
        else:
            services.start_session(user, "password")
            return redirect(next_path or url_for("main.tasks"))
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "auth/sign_in.html",
        form=form,
        next_path=next_path,
        unverified=unverified,
        resend_form=EmailOnlyForm(email=form.email.data),
    ), status


@bp.route("/sign-out", methods=["POST"])
@allow(Access.SIGNED_IN)
def sign_out():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("main.tasks"))
    services.sign_out(current_user)
    flash("You have signed out.", "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/sign-out-everywhere", methods=["POST"])
@allow(Access.USER)
def sign_out_everywhere():
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("main.tasks"))
    count = services.sign_out_everywhere(current_user)
    flash(f"You have signed out on every device ({count} session{'s' if count != 1 else ''} ended).", "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/reset-password", methods=["GET", "POST"])
@allow(Access.ANONYMOUS)
def forgot_password():
    form = EmailOnlyForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.email.data)
        except services.AccountError as error:
            add_error(form, error.field, error.message)
        else:
            return render_template("auth/reset_sent.html", email=form.email.data)
    return render_form("auth/forgot_password.html", form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@allow(Access.ANONYMOUS)
def reset_password(token: str):
    try:
        tokens.peek_token(token, tokens.RESET_PASSWORD)
    except tokens.TokenError as error:
        return link_problem(error, "reset")
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AccountError as error:
            add_error(form, error.field, error.message)
        except tokens.TokenError as error:
            return link_problem(error, "reset")
        else:
            flash("Your password has been changed. Sign in with your new password.", "success")
            return redirect(url_for("auth.sign_in"))
    return render_form("auth/reset_password.html", form)
