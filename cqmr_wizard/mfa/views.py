"""Two-step verification pages: set-up, sign-in challenge, recovery codes, settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field

from ..access import Access, allow, fully_authenticated, must_use_passkey
from ..auth.forms import ConfirmForm
from ..extensions import per_source
from ..models import TotpCredential, User
from ..models.base import utcnow
from ..models.mfa import ACTIVE, PENDING
from ..security import safe_next_path
from ..views import add_error, refused, render_form
from . import admin, bp, enrollment, passkeys, recovery, services, totp
from .forms import CodeForm, PasskeyForm, RecoveryCodeForm

AUTHENTICATOR_APPS = (
    "Google Authenticator",
    "Microsoft Authenticator",
    "Authy",
    "1Password",
    "Bitwarden Authenticator",
    "2FAS",
    "FreeOTP",
    "Aegis (Android)",
)

CLOCK_NOTICES = {
    -1: "The code you entered was from the previous 30 seconds. That is fine, but if it happens "
    "often, check that your phone sets its date and time automatically.",
    1: "Your phone's clock seems to be a little fast: the code you entered was for the next 30 "
    "seconds. Set your phone to set its date and time automatically, or codes may stop working.",
}


# Set only by the "confirm it is you" page: passing the sign-in challenge does not count, so
# replacing the authenticator or the recovery codes always takes a code given for that purpose.
REVERIFIED = "mfa_reverified_at"


def reverified() -> bool:
    """True when this session gave a fresh code on the confirm page within MFA_FRESH_WINDOW."""
    stamp = session.get(REVERIFIED)
    if not stamp or not services.is_fresh():
        return False
    return utcnow() - datetime.fromisoformat(stamp) <= current_app.config["MFA_FRESH_WINDOW"]


def clock_notice(offset: int) -> None:
    if offset in CLOCK_NOTICES:
        flash(CLOCK_NOTICES[offset], "warning")


def enrollment_page(form: CodeForm, changing: bool, pending: TotpCredential | None = None):
    pending = enrollment.start_enrollment(current_user, pending)
    secret = totp.decrypt(pending.secret_encrypted)
    issuer = current_app.config["TOTP_ISSUER"]
    uri = totp.provisioning_uri(secret, current_user.email, issuer)
    return dict(
        form=form,
        changing=changing,
        apps=AUTHENTICATOR_APPS,
        issuer=issuer,
        account=current_user.email,
        key=totp.grouped(secret),
        period=totp.PERIOD,
        digits=totp.DIGITS,
        algorithm="SHA-1",
        restart_form=ConfirmForm(prefix="restart"),
        qr=totp.qr_svg(
            uri,
            f"QR code to add your {issuer} account ({current_user.email}) to an "
            "authenticator app. If you cannot scan it, type the key shown below.",
        ),
    )


def confirm(changing: bool, pending: TotpCredential | None = None):
    """The enrollment page and its form; `pending` is the pending credential if just read."""
    form = CodeForm()
    if form.validate_on_submit():
        try:
            result = enrollment.confirm_enrollment(current_user, form.code.data)
        except services.MfaError as error:
            add_error(form, error.field, error.message)
            return render_template("mfa/enroll.html", **enrollment_page(form, changing)), error.status
        clock_notice(result.offset)
        session.pop(REVERIFIED, None)  # the next change asks for a code of its own
        if result.recovery_codes:
            recovery.remember_shown(result.recovery_codes)
            return redirect(url_for("mfa.recovery_codes"))
        flash("Your new authenticator app is set up. Codes from the old one no longer work.", "success")
        return redirect(url_for("mfa.manage"))
    status = 400 if form.errors else 200
    return render_template("mfa/enroll.html", **enrollment_page(form, changing, pending)), status


@bp.route("/set-up", methods=["GET", "POST"])
@allow(Access.SIGNED_IN)
def enroll():
    held = services.credentials(current_user.id)
    if ACTIVE in held or services.has_passkey(current_user.id):
        return redirect(url_for("mfa.manage" if fully_authenticated() else "mfa.challenge"))
    return confirm(changing=False, pending=held.get(PENDING))


@bp.route("/change", methods=["GET", "POST"])
@allow(Access.USER)
def change():
    if not reverified():
        return redirect(url_for("mfa.reverify", next=url_for("mfa.change")))
    return confirm(changing=True)


@bp.route("/set-up/new-key", methods=["POST"])
@allow(Access.SIGNED_IN)
def restart():
    changing = services.has_active_credential(current_user.id)
    if changing and not reverified():
        return redirect(url_for("mfa.change"))
    if ConfirmForm(prefix="restart").validate_on_submit():
        enrollment.restart_enrollment(current_user)
        flash(
            "Here is a new key. Remove any CQMR entry you added to your authenticator app "
            "before, then scan this one.",
            "info",
        )
    return redirect(url_for("mfa.change" if changing else "mfa.enroll"))


def not_challenged():
    """Where a session goes that has no code to give: past both factors, or not set up yet."""
    if fully_authenticated():
        return redirect(services.next_path())
    if not services.has_second_factor(current_user.id):
        return redirect(url_for("mfa.enroll"))
    return None


def answer_challenge(
    template: str,
    form: FlaskForm,
    code: Field,
    check: Callable[[User, str], int],
    passed: Callable[[int], None],
    field: str | None = None,
    **context: object,
):
    """A sign-in challenge page: once `check` accepts the `code`, tell the person (`passed`) and go on."""
    if (elsewhere := not_challenged()) is not None:
        return elsewhere
    if form.validate_on_submit():
        try:
            result = check(current_user, code.data)
        except services.MfaError as error:
            return refused(template, form, error, field, **context)
        passed(result)
        return redirect(services.next_path())
    return render_form(template, form, **context)


def passkey_only() -> bool:
    """One who must use a passkey (an operator under MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS,
    a member whose organization requires passkeys, past its grace period) and holds one signs in
    with it: the app code is not offered (a recovery code still is, for a lost passkey)."""
    return must_use_passkey(getattr(current_user, "is_operator", False), g.get("membership")) and (
        services.has_passkey(current_user.id)
    )


def factors_offered() -> dict[str, object]:
    """What a page asking for the second factor offers: the passkey first when there is one."""
    return dict(
        passkey_form=PasskeyForm(prefix="passkey", formdata=None),
        has_passkey=services.has_passkey(current_user.id),
        has_app=services.has_active_credential(current_user.id) and not passkey_only(),
    )


def app_code_challenge(user: User, code: str) -> int:
    """The sign-in code check, refused outright for those who must use their passkey."""
    if passkey_only():
        who = "Registry operators" if getattr(user, "is_operator", False) else "Members of your organization"
        raise services.MfaError(f"{who} sign in with their passkey. Use your passkey", None)
    return services.pass_challenge(user, code)


def recovery_code_used(left: int) -> None:
    """Warn that a recovery code was spent, and say how many are left."""
    flash(
        f"You used a recovery code. You have {left} recovery code{'s' if left != 1 else ''} "
        "left. If you no longer have your phone, change your authenticator app now in "
        "your two-step verification settings.",
        "warning",
    )


@bp.route("/", methods=["GET", "POST"])
@allow(Access.SIGNED_IN)
@per_source("RATE_LIMIT_SECOND_FACTOR")
def challenge():
    form = CodeForm()
    return answer_challenge(
        "mfa/challenge.html", form, form.code, app_code_challenge, clock_notice, **factors_offered()
    )


@bp.route("/recovery-code", methods=["GET", "POST"])
@allow(Access.SIGNED_IN)
@per_source("RATE_LIMIT_SECOND_FACTOR")
def challenge_recovery():
    form = RecoveryCodeForm()
    return answer_challenge(
        "mfa/challenge_recovery.html",
        form,
        form.recovery_code,
        services.pass_recovery_challenge,
        recovery_code_used,
        "recovery_code",
    )


@bp.route("/confirm-it-is-you", methods=["GET", "POST"])
@allow(Access.USER)
@per_source("RATE_LIMIT_SECOND_FACTOR")
def reverify():
    target = safe_next_path(request.args.get("next")) or url_for("mfa.manage")
    form = CodeForm()
    if form.validate_on_submit():
        try:
            offset = services.reauthenticate(current_user, form.code.data)
        except services.MfaError as error:
            return refused("mfa/reverify.html", form, error, target=target, **factors_offered())
        session[REVERIFIED] = utcnow().isoformat()
        clock_notice(offset)
        return redirect(target)
    return render_form("mfa/reverify.html", form, target=target, **factors_offered())


@bp.route("/settings")
@allow(Access.USER)
def manage():
    return render_template(
        "mfa/manage.html",
        status=admin.member_status(current_user.id),
        passkeys=passkeys.held(current_user.id),
        codes_pending=recovery.shown_codes() is not None,
        saved=services.recovery_codes_saved(current_user.id),
    )
