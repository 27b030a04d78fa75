"""Account forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from ..forms import EmailAddress, Required, email_field


class SignUpForm(FlaskForm):
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


class SignInForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        "Password",
        validators=[Required("Enter your password")],
        render_kw={"autocomplete": "current-password"},
    )


class EmailOnlyForm(FlaskForm):
    email = StringField("Email address", validators=[EmailAddress()],
                        render_kw={"autocomplete": "email", "type": "email"})


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[Required("Enter a new password")],
        description="At least 12 characters. A few unrelated words make a strong password.",
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token, for POST-only buttons."""
