"""An administrator's or operator's own fresh second factor before acting on someone else's:
their passkey when the page's passkey ceremony answered, else their app code."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, request
from flask_login import current_user

from ..models import User
from ..views import add_error
from . import admin, passkeys, services
from .forms import PasskeyForm, ReauthenticateForm


@dataclass
class Confirmation:
    """The two ways a page asks "confirm it is you", and whether the person holds each."""

    form: ReauthenticateForm
    passkey_form: PasskeyForm
    has_passkey: bool
    has_app: bool


def confirmation(formdata: bool = True) -> Confirmation:
    """The forms for this request (empty ones when `formdata` is false)."""
    data = {} if formdata else {"formdata": None}
    return Confirmation(
        ReauthenticateForm(**data),
        PasskeyForm(prefix="passkey", **data),
        services.has_passkey(current_user.id),
        services.has_active_credential(current_user.id),
    )


def refused_status(asked: Confirmation) -> int | None:
    """Check the posted answer: None when it is right, else the HTTP status of the refusal (the
    form that was answered says why)."""
    answered = asked.passkey_form if request.form.get("passkey-credential") else asked.form
    if not answered.validate_on_submit():
        return 400
    try:
        if answered is asked.passkey_form:
            passkeys.reauthenticate(current_user, asked.passkey_form.credential.data)
        else:
            services.reauthenticate(current_user, asked.form.code.data)
    except services.MfaError as error:
        add_error(answered, error.field if answered is asked.form else None, error.message)
        return error.status
    return None


def reset_for(actor: User, user: User) -> None:
    """Reset `user`'s second factor for `actor`, who confirmed it was them, and say so."""
    admin.reset_second_factor(actor, user)
    flash(
        f"Two-step verification for {user.full_name} was reset. They have been signed out and "
        "will set it up again when they next sign in.",
        "success",
    )
