"""Two-step verification forms."""

from __future__ import annotations

from wtforms import HiddenField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..forms import BaseForm
from . import recovery, totp

CODE_INPUT = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "spellcheck": "false",
    "autocapitalize": "off",
    "maxlength": "12",
}
RECOVERY_INPUT = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off", "maxlength": "40"}


class TotpCode:
    """Six digits, spaces allowed."""

    def __init__(self, missing: str = "Enter the 6-digit code from your authenticator app"):
        self.missing = missing

    def __call__(self, form, field) -> None:
        value = totp.normalise_code(field.data)
        if not value:
            raise ValidationError(self.missing)
        if not totp.CODE_PATTERN.match(value):
            raise ValidationError("The code must be 6 digits, like 123456")
        field.data = value


class RecoveryCodeFormat:
    """16 letters and numbers, in groups or not."""

    def __call__(self, form, field) -> None:
        if not (field.data or "").strip():
            raise ValidationError("Enter one of your recovery codes")
        if recovery.normalise(field.data) is None:
            raise ValidationError(
                "A recovery code has 16 letters and numbers in 4 groups, like 7k2m-9qrt-x4hc-pw8d"
            )


class CodeForm(BaseForm):
    code = StringField(
        "Security code",
        validators=[TotpCode()],
        description="The 6-digit code your authenticator app shows now.",
        render_kw=CODE_INPUT,
    )


class ReauthenticateForm(BaseForm):
    code = StringField(
        "Your security code",
        validators=[TotpCode("Enter the 6-digit code from your own authenticator app")],
        description="To confirm it is you, enter the 6-digit code your own authenticator app shows now.",
        render_kw=CODE_INPUT,
    )


class RecoveryCodeForm(BaseForm):
    recovery_code = StringField(
        "Recovery code",
        validators=[RecoveryCodeFormat()],
        description="One of the codes you saved when you set up two-step verification, "
        "like 7k2m-9qrt-x4hc-pw8d. Each code works once.",
        render_kw=RECOVERY_INPUT,
    )


class SavedCodeForm(BaseForm):
    recovery_code = StringField("Recovery code", validators=[RecoveryCodeFormat()], render_kw=RECOVERY_INPUT)


class PasskeyForm(BaseForm):
    """A passkey ceremony's result (JSON), put in `credential` by static/js/passkey.js."""

    credential = HiddenField()


class NewPasskeyForm(PasskeyForm):
    name = StringField(
        "Name for this passkey (optional)",
        validators=[Optional(), Length(max=100, message="The name must be 100 characters or fewer")],
        description="So you can tell your passkeys apart, for example “Work laptop” or “Blue security key”.",
        render_kw={"autocomplete": "off", "maxlength": "100"},
    )
