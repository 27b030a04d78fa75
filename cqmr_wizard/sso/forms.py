"""Forms of the OneHealthPort pages."""

from __future__ import annotations

from wtforms import PasswordField, RadioField, StringField
from wtforms.validators import ValidationError

from ..forms import BaseForm, Required
from ..models.organizations import ROLES


class PasswordCheckForm(BaseForm):
    password = PasswordField(
        "Your password",
        validators=[Required("Enter your password")],
        render_kw={"autocomplete": "current-password"},
    )


class SignInStartForm(BaseForm):
    """Only the CSRF token and where to go afterwards."""

    next = StringField()


class DecideJoinForm(BaseForm):
    role = RadioField(
        "Which role should they have?",
        choices=[(key, label) for key, (label, _hint) in ROLES.items()],
        validate_choice=False,
        description="You can change roles later on the team page.",
    )
    decision = StringField()

    def validate_decision(self, field) -> None:
        if field.data not in ("approve", "decline"):
            raise ValidationError("Choose whether to approve or decline the request")

    def validate_role(self, field) -> None:
        if self.decision.data == "approve" and field.data not in ROLES:
            field.errors[:] = []
            raise ValidationError("Choose a role for this person")
