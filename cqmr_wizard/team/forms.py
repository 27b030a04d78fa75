"""Team forms: invite, roles, CSV upload, the team filter, and the invited person's account."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import ValidationError

from ..forms import BaseForm, EmailAddress, Required, normalise_email, reason_field
from ..models.organizations import ROLES
from .roster import READINESS_FILTERS

ROLE_CHOICES = [(key, name) for key, (name, _) in ROLES.items()]
ROLE_DESCRIPTIONS = {key: description for key, (_, description) in ROLES.items()}


class MultiCheckboxField(SelectMultipleField):
    """Several choices shown as USWDS checkboxes (rendered by the `checkboxes` macro)."""


class InviteeEmail(EmailAddress):
    """The invited person's email address."""

    def __call__(self, form, field) -> None:
        if not normalise_email(field.data):
            raise ValidationError("Enter the person's email address")
        super().__call__(form, field)


class RolesRequired:
    """At least one role, each from the fixed list."""

    def __call__(self, form, field) -> None:
        chosen = field.data or []
        if not chosen:
            field.errors[:] = []
            raise ValidationError("Select at least one role")
        if any(value not in ROLES for value in chosen):
            field.errors[:] = []
            raise ValidationError("Select roles from the list")


def roles_field(label: str) -> MultiCheckboxField:
    return MultiCheckboxField(
        label,
        choices=ROLE_CHOICES,
        validators=[RolesRequired()],
        validate_choice=False,
        description="Select all that apply. A person can hold several roles.",
    )


class InviteForm(BaseForm):
    full_name = StringField(
        "Full name",
        validators=[
            Required("Enter the person's full name", 200, "Full name must be 200 characters or fewer")
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    email = StringField(
        "Email address",
        validators=[InviteeEmail()],
        description="The invitation link is sent here and works only for this address.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "type": "email"},
    )
    roles = roles_field("Roles")


class RolesForm(BaseForm):
    roles = roles_field("Roles")


class UploadForm(BaseForm):
    csv_file = FileField(
        "Upload a CSV file",
        description="Columns: name, email, roles. Separate several roles with a semicolon (;), "
        "using the names or keys listed under \u201cRoles you can give\u201d above. Save the file as "
        "CSV UTF-8.",
        render_kw={"accept": ".csv,text/csv"},
    )

    def validate_csv_file(self, field) -> None:
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError("Select a CSV file to upload")


class TeamFilterForm(BaseForm):
    """The team page's filter; a GET form that changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    q = StringField("Name or email", render_kw={"spellcheck": "false"})
    role = SelectField("Role", choices=[("", "Any role"), *ROLE_CHOICES], validate_choice=False)
    readiness = SelectField(
        "Readiness", choices=[("", "Anyone"), *READINESS_FILTERS.items()], validate_choice=False
    )


class AcceptAccountForm(BaseForm):
    full_name = StringField(
        "Full name",
        validators=[Required("Enter your full name", 200, "Full name must be 200 characters or fewer")],
        render_kw={"autocomplete": "name"},
    )
    password = PasswordField(
        "Create a password",
        validators=[Required("Enter a password")],
        description="At least 12 characters. A few unrelated words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )


class OffboardingRequestForm(BaseForm):
    reason = reason_field(
        "Why should your organization's participation end?",
        "Enter why your organization's participation should end",
        "A CQMR operator reads this before confirming.",
    )


PASSKEY_CHOICES = {
    "required": "Yes: members must use a passkey",
    "optional": "No: members may use an authenticator app or a passkey",
}


class PasskeyPolicyForm(BaseForm):
    required = RadioField(
        "Must members use a passkey?", choices=list(PASSKEY_CHOICES.items()), validate_choice=False
    )
    confirm = BooleanField(
        "I understand that after the grace period, a member without a passkey can do nothing "
        "here until they add one, and signs in with it instead of the app code"
    )

    def validate_required(self, field: RadioField) -> None:
        if field.data not in PASSKEY_CHOICES:
            raise ValidationError("Choose whether members must use a passkey")

    def validate_confirm(self, field: BooleanField) -> None:
        if self.required.data == "required" and not field.data:
            raise ValidationError("Confirm that you understand what requiring passkeys does")
