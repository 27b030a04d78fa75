"""Pages for signing in with OneHealthPort, connecting it, and disconnecting it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, flash, g, redirect, render_template, session, url_for
from flask_login import current_user

from .. import audit
from ..access import Access, allow, fully_authenticated
from ..audit.events import AuditEventType
from ..auth import services as auth_services
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..models.base import utcnow
from ..refusals import Refusal
from ..security import safe_next_path
from ..views import add_error, offboarded_page, refused, render_form
from . import bp, joins, protocol, services
from .errors import SsoError
from .forms import PasswordCheckForm, SignInStartForm
from .verified import VerifiedIdentity

TITLES = {
    "sign_in": "You could not sign in with OneHealthPort",
    "connect": "OneHealthPort could not be connected",
    "unlink": "OneHealthPort could not be disconnected",
}
RETRY = {"sign_in": "auth.sign_in", "connect": "sso.connect", "unlink": "sso.unlink"}


log = logging.getLogger(__name__)

def problem_page(purpose: str | None, status: int, message: str, reason: str | None = None):
    """A clear page for a sign-in that did not work."""
    retry = RETRY.get(purpose or "")
    return render_template(
        "sso/problem.html",
        title=TITLES.get(purpose or "", "Single sign-on did not work"),
        message=message,
        retry=url_for(retry) if retry else None,
        # An account that is not linked yet gets the way to link it, through password sign-in.
        connect=url_for("sso.connect") if reason == "not_linked" else None,
        code=status,
    ), status


def failed(error: SsoError, purpose: str | None):
    """Audit a failed single sign-on, log why and explain it."""
    db.session.rollback()
    log.warning("single sign-on failed: %s (%s)", error.reason, error.detail, extra={"purpose": purpose})
    user_id = current_user.id if current_user.is_authenticated else None
    audit.record(
        AuditEventType.SSO_FAILED,
        actor_id=user_id,
        subject_user_id=user_id,
        details={"reason": error.reason, "detail": error.detail, "purpose": purpose},
    )
    db.session.commit()
    return problem_page(purpose, error.status, error.message)


@bp.app_template_global()
def sso_enabled() -> bool:
    """Whether pages offer signing in with OneHealthPort."""
    return protocol.enabled()


def _issuer() -> str | None:
    return protocol.issuer()


@bp.route("/onehealthport")
@allow(Access.USER)
def connect():
    issuer = _issuer()
    identity = services.identity_for(current_user.id, issuer) if issuer else None
    return render_template(
        "sso/connect.html",
        membership=g.membership,
        identity=identity,
        enabled=protocol.enabled(),
        registration_url=current_app.config["OHP_REGISTRATION_URL"],
        form=ConfirmForm(),
        pending=joins.latest_request(current_user.id),
    )


@bp.route("/onehealthport/start", methods=["POST"])
@allow(Access.USER)
def start_connect():
    ConfirmForm().validate_on_submit()  # CSRF is checked for every POST before this runs
    try:
        return protocol.start("connect", user_id=current_user.id)
    except SsoError as error:
        return failed(error, "connect")


@bp.route("/sign-in/onehealthport", methods=["POST"])
@allow(Access.ANONYMOUS)
def start_sign_in():
    form = SignInStartForm()
    form.validate_on_submit()
    try:
        return protocol.start("sign_in", next_path=safe_next_path(form.next.data))
    except SsoError as error:
        return failed(error, "sign_in")


@bp.route("/sso/callback")
@allow(Access.PUBLIC)
def callback():
    return complete(protocol.finish)


def complete(answer: Callable[[], tuple[dict, VerifiedIdentity]]):
    """Finish the sign-in this session started with the provider's verified answer, whichever
    the protocol: sign in, connect, or confirm before disconnecting; a clear page if refused."""
    purpose = protocol.pending_purpose()
    try:
        flow, verified = answer()
        if flow["purpose"] != "sign_in" and not (
            fully_authenticated() and current_user.id == flow["user_id"]
        ):
            raise SsoError("state_mismatch", "session user changed")
        finish = {"sign_in": _signed_in, "connect": _connected, "unlink": _reauthenticated}
        return finish[flow["purpose"]](flow, verified)
    except SsoError as error:
        return failed(error, purpose)
    except services.Refused as refused:
        services.record_refusal(refused)
        return problem_page(purpose, refused.status, refused.message, refused.reason)


def _signed_in(flow: dict, verified: VerifiedIdentity):
    user = services.user_for_sign_in(verified)
    try:
        auth_services.start_session(user, protocol.name())
    except auth_services.OrganizationOffboarded as offboarded:
        return offboarded_page(offboarded.organization)
    return redirect(safe_next_path(flow.get("next")) or url_for("main.tasks"))


def _connected(flow: dict, verified: VerifiedIdentity):
    outcome = services.connect(current_user, g.membership, verified)
    ohp_name = verified.ohp_org_name or verified.ohp_org_id
    if outcome is services.Outcome.ALREADY_REGISTERED:
        holder = services.organization_for_ohp(verified.ohp_org_id)
        session[joins.CANDIDATE_KEY] = {
            "organization_id": holder.id,
            "ohp_org_id": verified.ohp_org_id,
            "at": utcnow().timestamp(),
        }
        return redirect(url_for("sso.join_offer"))
    if outcome is services.Outcome.CONNECTED:
        flash(f"Your organization is connected to OneHealthPort as “{ohp_name}”.", "success")
    elif outcome is services.Outcome.NO_ORGANIZATION:
        message = "Your OneHealthPort account is connected."
        if ohp_name:
            message += (
                f" “{ohp_name}” is not onboarded yet: confirm your organization is "
                "eligible, then connect it to OneHealthPort."
            )
        flash(message, "success")
    else:
        flash("Your OneHealthPort account is connected. You can now sign in with it.", "success")
    return redirect(url_for("main.tasks"))


def _reauthenticated(flow: dict, verified: VerifiedIdentity):
    identity = services.confirm_same_identity(
        current_user, verified, flow["started_at"], protocol.clock_leeway()
    )
    services.unlink(current_user, identity, "onehealthport")
    flash("OneHealthPort is disconnected from your account.", "success")
    return redirect(url_for("sso.connect"))


@bp.route("/onehealthport/disconnect", methods=["GET", "POST"])
@allow(Access.USER)
def unlink():
    issuer = _issuer()
    identity = services.identity_for(current_user.id, issuer) if issuer else None
    if identity is None:
        flash("Your account is not connected to OneHealthPort.", "info")
        return redirect(url_for("sso.connect"))
    form = PasswordCheckForm()
    if form.validate_on_submit():
        try:
            auth_services.authenticate(current_user.email, form.password.data)
        except auth_services.SignInRefused as refusal:
            message = refusal.message if "locked" in refusal.message else "Your password is not right"
            add_error(form, "password", message)
        except Refusal as refusal:  # too many attempts from here: a 429 with when to retry
            return refused(
                "sso/disconnect.html",
                form,
                refusal,
                field="password",
                identity=identity,
                reauth_form=ConfirmForm(),
                has_password=bool(current_user.password_hash),
            )
        else:
            services.unlink(current_user, identity, "password")
            flash("OneHealthPort is disconnected from your account.", "success")
            return redirect(url_for("sso.connect"))
    return render_form(
        "sso/disconnect.html",
        form,
        identity=identity,
        reauth_form=ConfirmForm(),
        has_password=bool(current_user.password_hash),
    )


@bp.route("/onehealthport/disconnect/confirm-with-onehealthport", methods=["POST"])
@allow(Access.USER)
def start_unlink():
    ConfirmForm().validate_on_submit()
    try:
        return protocol.start("unlink", user_id=current_user.id, reauthenticate=True)
    except SsoError as error:
        return failed(error, "unlink")
