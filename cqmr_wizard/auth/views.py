"""Sign-up, email verification, sign-in, sign-out and password reset pages (changing a password,
which asks for the second factor too, is on the account pages)."""

from __future__ import annotations

import math
from datetime import datetime

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..access import Access, allow
from ..extensions import per_source
from ..models.base import utcnow
from ..security import safe_next_path
from ..views import accepted, add_error, offboarded_page, render_form
from . import bp, services, throttle, tokens, unlock
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
@per_source("RATE_LIMIT_SIGN_UP")
def sign_up():
    form = SignUpForm()
    if form.validate_on_submit() and accepted(
        form,
        lambda: services.sign_up(form.full_name.data, form.email.data, form.password.data),
        services.AccountError,
    ):
        session["check_email"] = form.email.data  # never in the URL (logs, history)
        return redirect(url_for("auth.check_email"))
    return render_form("auth/sign_up.html", form)


@bp.route("/check-your-email")
@allow(Access.ANONYMOUS)
def check_email():
    email = session.get("check_email", "")
    return render_template("auth/check_email.html", email=email, form=EmailOnlyForm(email=email))


@bp.route("/verify-email/resend", methods=["POST"])
@allow(Access.ANONYMOUS)
@per_source("RATE_LIMIT_RESEND_VERIFICATION")
def resend_verification():
    form = EmailOnlyForm()
    if form.validate_on_submit() and accepted(
        form, lambda: services.resend_verification(form.email.data), services.AccountError
    ):
        session["check_email"] = form.email.data
        return redirect(url_for("auth.check_email"))
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
@per_source("RATE_LIMIT_SIGN_IN")
def sign_in():
    form = SignInForm()
    next_path = safe_next_path(request.args.get("next"))
    unverified = False
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except throttle.Throttled as waiting:
            add_error(form, waiting.field, waiting.message)
            headers = {"Retry-After": retry_after(waiting.retry_at)}
            return sign_in_page(form, next_path, False), waiting.status, headers
        except services.SignInRefused as refusal:
            add_error(form, refusal.field, refusal.message)
            unverified = refusal.unverified
        else:
            try:
                services.start_session(user, "password")
            except services.OrganizationOffboarded as offboarded:
                return offboarded_page(offboarded.organization)
            return redirect(next_path or url_for("main.tasks"))
    status = 400 if form.errors or form.form_errors else 200
    return sign_in_page(form, next_path, unverified), status


def sign_in_page(form: SignInForm, next_path: str | None, unverified: bool) -> str:
    return render_template(
        "auth/sign_in.html",
        form=form,
        next_path=next_path,
        unverified=unverified,
        resend_form=EmailOnlyForm(email=form.email.data),
    )


def retry_after(when: datetime) -> str:
    """The Retry-After header's value: whole seconds from now, at least 1."""
    return str(max(1, math.ceil((when - utcnow()).total_seconds())))


@bp.route("/unlock-account/<token>")
@allow(Access.PUBLIC)
def unlock_account(token: str):
    try:
        unlock.lift(token)
    except tokens.TokenError as error:
        return link_problem(error, "unlock")
    flash("Signing in to your account is no longer paused. You can sign in now.", "success")
    return redirect(url_for("auth.sign_in"))


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
@per_source("RATE_LIMIT_PASSWORD_RESET")
def forgot_password():
    form = EmailOnlyForm()
    if form.validate_on_submit() and accepted(
        form, lambda: services.request_password_reset(form.email.data), services.AccountError
    ):
        return render_template("auth/reset_sent.html", email=form.email.data)
    return render_form("auth/forgot_password.html", form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@allow(Access.ANONYMOUS)
@per_source("RATE_LIMIT_PASSWORD_RESET")
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
