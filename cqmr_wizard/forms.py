"""Form pieces shared by every blueprint."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from .security import MAX_DATABASE_INT

CONTROL_CHARACTERS = (
    "Remove line breaks, tabs and other control characters: this answer must be a single line"
)


def has_control_characters(value: str) -> bool:
    """True when `value` holds a line break, tab or other control or separator character."""
    return any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in value)


def is_single_line(field) -> bool:
    """Text inputs (and hidden and password ones), not multi-line text areas."""
    return isinstance(field, StringField) and not isinstance(field, TextAreaField)


class SingleLine:
    """A one-line answer: no control characters (they would end up in mail headers and bodies)."""

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and has_control_characters(field.data):
            raise StopValidation(CONTROL_CHARACTERS)


class BaseForm(FlaskForm):
    """The base of every form: every single-line field refuses control characters first, so
    that no other validator and no service ever sees them."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self._fields.values():
            if is_single_line(field):
                field.validators = [SingleLine(), *field.validators]


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


class EmailAddress:
    """An email address: required, at most 254 characters, a valid address."""

    def __call__(self, form, field) -> None:
        value = normalise_email(field.data)
        if not value:
            raise ValidationError("Enter your email address")
        if len(value) > 254:
            raise ValidationError("Email address must be 254 characters or fewer")
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(
                "Enter an email address in the correct format, like name@example.org"
            ) from None
        field.data = value


def reason_field(label: str, missing: str, description: str, max_length: int = 500) -> TextAreaField:
    """A required reason (for the audit trail, and often for the people it concerns)."""
    return TextAreaField(
        label,
        validators=[
            DataRequired(message=missing),
            Length(max=max_length, message=f"The reason must be {max_length} characters or fewer"),
        ],
        description=description,
    )


def email_field(label: str = "Email address") -> StringField:
    return StringField(
        label,
        validators=[EmailAddress()],
        render_kw={"autocomplete": "email", "spellcheck": "false", "type": "email"},
    )


class Required:
    """Required text with a page-specific message, after stripping spaces. A missing or too
    long answer stops the field's other checks: one error per field."""

    def __init__(self, message: str, max_length: int | None = None, too_long: str | None = None):
        self.message = message
        self.max_length = max_length
        self.too_long = too_long

    def __call__(self, form, field) -> None:
        value = (field.data or "").strip() if isinstance(field.data, str) else field.data
        if not value:
            field.errors[:] = []
            raise StopValidation(self.message)
        if self.max_length and isinstance(value, str) and len(value) > self.max_length:
            raise StopValidation(self.too_long or f"Must be {self.max_length} characters or fewer")
        if isinstance(value, str):
            field.data = value


class MaxLength:
    """Optional text no longer than `max_length`."""

    def __init__(self, max_length: int, message: str) -> None:
        self.max_length = max_length
        self.message = message

    def __call__(self, form, field) -> None:
        if field.data and len(field.data) > self.max_length:
            raise ValidationError(self.message)


class NumberOrText:
    """A search box taking a record's number or some text: a number must be one the database
    can hold, written with the digits 0-9."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form, field) -> None:
        value = (field.data or "").strip()
        if value.isdigit() and (not value.isascii() or int(value) > MAX_DATABASE_INT):
            raise ValidationError(self.message)


class NumberBetween:
    """A whole number from `minimum` to `maximum`; text that is not a number gets the same
    single message instead of WTForms' own "Not a valid integer value." as well."""

    def __init__(self, minimum: int, maximum: int, message: str) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.message = message

    def __call__(self, form, field) -> None:
        if field.process_errors or field.data is None or not self.minimum <= field.data <= self.maximum:
            field.errors[:] = []
            raise StopValidation(self.message)
