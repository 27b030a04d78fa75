"""Account forms."""

from wtforms import PasswordField, StringField
from wtforms.validators import ValidationError

from ..forms import BaseForm, EmailAddress, Required, email_field
from .passwords import password_problem


class SignUpForm(BaseForm):
    full_name = StringField(
        "Full name",
        validators=[Required("Enter your full name", 200, "Full name must be 200 characters or fewer")],
        render_kw={"autocomplete": "name"},
    )
    email = email_field()
    password = PasswordField(
        "Create a password",
        validators=[Required("Enter a password")],
        description="At least 12 characters. A few unrelated words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )

    def validate_password(self, field) -> None:
        """Show a weak password with the other problems, not on a second try."""
        email = self.email.data or ""
        problem = password_problem(field.data, [self.full_name.data or "", email, *email.split("@")])
        if problem:
            raise ValidationError(problem)


class SignInForm(BaseForm):
    email = email_field()
    password = PasswordField(
        "Password",
        validators=[Required("Enter your password")],
        render_kw={"autocomplete": "current-password"},
    )


class EmailOnlyForm(BaseForm):
    email = StringField(
        "Email address", validators=[EmailAddress()], render_kw={"autocomplete": "email", "type": "email"}
    )


class NewPasswordForm(BaseForm):
    password = PasswordField(
        "New password",
        validators=[Required("Enter a new password")],
        description="At least 12 characters. A few unrelated words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(BaseForm):
    """A form with only the CSRF token, for POST-only buttons."""


class SixDigitCode:
    """The 6-digit code of an authenticator app, spaces allowed."""

    def __call__(self, form, field) -> None:
        value = "".join((field.data or "").split())
        if not value:
            raise ValidationError("Enter the 6-digit code from your authenticator app")
        if not (value.isascii() and value.isdigit() and len(value) == 6):
            raise ValidationError("The code must be 6 digits, like 123456")
        field.data = value


class ChangePasswordForm(BaseForm):
    current_password = PasswordField(
        "Current password",
        validators=[Required("Enter your current password")],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        "New password",
        validators=[Required("Enter a new password")],
        description="At least 12 characters. A few unrelated words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )
    code = StringField(
        "Security code",
        validators=[SixDigitCode()],
        description="The 6-digit code your authenticator app shows now.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "12"},
    )
