"""Passkey pages: the ceremony options (JSON for static/js/passkey.js), adding a passkey,
signing in and confirming it is you with one, removing one."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..access import Access, allow, fully_authenticated
from ..auth.forms import ConfirmForm
from ..extensions import per_source
from ..models.base import utcnow
from ..security import safe_next_path
from ..views import add_error, refused
from . import bp, ceremony, passkeys, recovery, services
from .forms import CodeForm, NewPasskeyForm, PasskeyForm
from .views import REVERIFIED, factors_offered, not_challenged, reverified


def may_add_passkey() -> bool:
    """Adding is setting up the first second factor, or a change made after confirming it is you."""
    if not services.has_second_factor(current_user.id):
        return True
    return fully_authenticated() and reverified()


@bp.route("/passkeys/options", methods=["POST"])
@allow(Access.SIGNED_IN)
@per_source("RATE_LIMIT_SECOND_FACTOR")
def passkey_options():
    if request.form.get("ceremony") == ceremony.CREATE:
        if not may_add_passkey():
            abort(403)
        body = ceremony.registration_options(current_user, passkeys.held(current_user.id))
    else:
        held = passkeys.held(current_user.id)
        if not held:
            abort(404)
        body = ceremony.authentication_options(held)
    return Response(body, mimetype="application/json")


@bp.route("/set-up/passkey", methods=["GET", "POST"])
@allow(Access.SIGNED_IN)
def add_passkey():
    if not may_add_passkey():
        if not fully_authenticated():
            return redirect(url_for("mfa.challenge"))
        return redirect(url_for("mfa.reverify", next=url_for("mfa.add_passkey")))
    first = not services.has_second_factor(current_user.id)
    form = NewPasskeyForm()
    if form.validate_on_submit():
        try:
            codes = passkeys.register(current_user, form.credential.data, form.name.data)
        except services.MfaError as error:
            return refused("mfa/passkey_add.html", form, error, first=first)
        session.pop(REVERIFIED, None)  # the next change asks for a second factor of its own
        # The new passkey has just been used, with user verification: the session counts as
        # passed with a passkey (what an operator under the passkey policy needs).
        services.mark_passed("passkey")
        if codes:
            recovery.remember_shown(codes)
            return redirect(url_for("mfa.recovery_codes"))
        flash("Your passkey is added. You can use it the next time you sign in.", "success")
        return redirect(url_for("mfa.manage"))
    status = 400 if form.errors else 200
    return render_template("mfa/passkey_add.html", form=form, first=first), status


@bp.route("/passkey", methods=["POST"])
@allow(Access.SIGNED_IN)
@per_source("RATE_LIMIT_SECOND_FACTOR")
def challenge_passkey():
    if (elsewhere := not_challenged()) is not None:
        return elsewhere
    form = PasskeyForm(prefix="passkey")
    if form.validate_on_submit():
        try:
            passkeys.pass_challenge(current_user, form.credential.data)
        except services.MfaError as error:
            add_error(form, None, error.message)
            context = {**factors_offered(), "passkey_form": form}
            return render_template(
                "mfa/challenge.html", form=CodeForm(formdata=None), **context
            ), error.status
        return redirect(services.next_path())
    return redirect(url_for("mfa.challenge"))


@bp.route("/confirm-it-is-you/passkey", methods=["POST"])
@allow(Access.USER)
@per_source("RATE_LIMIT_SECOND_FACTOR")
def reverify_passkey():
    target = safe_next_path(request.args.get("next")) or url_for("mfa.manage")
    form = PasskeyForm(prefix="passkey")
    if form.validate_on_submit():
        try:
            passkeys.reauthenticate(current_user, form.credential.data)
        except services.MfaError as error:
            add_error(form, None, error.message)
            context = {**factors_offered(), "passkey_form": form}
            return render_template(
                "mfa/reverify.html", form=CodeForm(formdata=None), target=target, **context
            ), error.status
        # A passkey just used counts as signing in with one (what the passkey policies ask).
        services.mark_passed("passkey")
        session[REVERIFIED] = utcnow().isoformat()
        return redirect(target)
    return redirect(url_for("mfa.reverify", next=target))


@bp.route("/passkeys/<int:passkey_id>/remove", methods=["GET", "POST"])
@allow(Access.USER)
def remove_passkey(passkey_id: int):
    passkey = next((p for p in passkeys.held(current_user.id) if p.id == passkey_id), None)
    if passkey is None:
        abort(404)
    here = url_for("mfa.remove_passkey", passkey_id=passkey_id)
    if not reverified():
        return redirect(url_for("mfa.reverify", next=here))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            passkeys.remove(current_user, passkey_id)
        except services.MfaError as error:
            return refused("mfa/passkey_remove.html", form, error, passkey=passkey)
        session.pop(REVERIFIED, None)
        flash(f"The passkey “{passkey.name}” is removed.", "success")
        return redirect(url_for("mfa.manage"))
    return render_template("mfa/passkey_remove.html", form=form, passkey=passkey)
