"""Forms of the agreement pages."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from ..forms import BaseForm, MaxLength, Required


class UnlessPasskey:
    """A signer who confirmed it is them with a passkey gives no code."""

    def __call__(self, form, field) -> None:
        if form.passkey_credential.data:
            field.errors.clear()
            raise StopValidation()


class Ticked:
    """A checkbox that must be ticked."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            raise ValidationError(self.message)


class VersionForm(BaseForm):
    """Carries the exact version (and hash) the page showed, so a newer text is never signed blind."""

    version_id = HiddenField()
    content_sha256 = HiddenField()

    def shown_version(self) -> tuple[int | None, str | None]:
        try:
            version_id = int(self.version_id.data)
        except (TypeError, ValueError):
            version_id = None
        return version_id, (self.content_sha256.data or None)


class DesignateSignerForm(BaseForm):
    signer = RadioField(
        "Who will sign the organization agreements?",
        choices=[],
        validate_choice=False,
        description="Only members who hold the Authorized signer role can sign.",
    )

    def validate_signer(self, field) -> None:
        if not field.data or field.data not in {value for value, _ in field.choices}:
            field.errors[:] = []
            raise ValidationError("Select who will sign the organization agreements")


class ConsentForm(BaseForm):
    consent = BooleanField(
        "I have read this disclosure, I can open and keep PDF files, and I agree to use "
        "electronic records and signatures",
        validators=[
            Ticked(
                "Select the box to consent to electronic records and signatures, "
                "or return a signed paper copy instead"
            )
        ],
    )


class ReviewForm(VersionForm):
    pass


def _name_field() -> StringField:
    return StringField(
        "Your full legal name",
        description="Typing your name is your electronic signature.",
        validators=[
            Required("Enter your full legal name", 200, "Full legal name must be 200 characters or fewer")
        ],
        render_kw={"autocomplete": "name", "spellcheck": "false"},
    )


def _agree_field() -> BooleanField:
    return BooleanField(
        "I agree to sign this agreement electronically",
        validators=[Ticked("Select the box to agree to sign")],
    )


class UserSignForm(VersionForm):
    full_name = _name_field()
    agree = _agree_field()


class OrganizationSignForm(VersionForm):
    full_name = _name_field()
    title = StringField(
        "Your title",
        description="Your job title, as it should appear on the agreement. "
        "For example, Chief Executive Officer.",
        validators=[Required("Enter your title", 200, "Title must be 200 characters or fewer")],
        render_kw={"autocomplete": "organization-title"},
    )
    agree = _agree_field()
    code = StringField(
        "Code from your authenticator app",
        description="To confirm it is you, enter the 6-digit code your authenticator app shows now.",
        validators=[UnlessPasskey(), Required("Enter the 6-digit code from your authenticator app")],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"},
    )
    # A passkey ceremony's result, put here by static/js/passkey.js: given, no code is needed.
    passkey_credential = HiddenField()


class DeclineForm(VersionForm):
    reason = TextAreaField(
        "Why are you not signing? (optional)",
        description="The registry sees your reason.",
        validators=[MaxLength(1000, "Reason must be 1,000 characters or fewer")],
    )


class UploadForm(VersionForm):
    file = FileField(
        "Upload the signed agreement", description="A PDF of the whole agreement with the signed page."
    )


class VerifyForm(BaseForm):
    file = FileField(
        "Signed copy or certificate of completion (PDF)", description="The file is checked and not kept."
    )
