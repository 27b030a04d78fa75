"""Operator console forms. Search forms use GET and change nothing, so they carry no CSRF
token (a token in a URL would leak into logs and history); every POST form has one."""

from __future__ import annotations

from datetime import date
from functools import cache

from markupsafe import Markup
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import Select

from ..forms import BaseForm, NumberBetween, NumberOrText, reason_field
from ..tasks import Status
from .filters import OFFBOARDING_REQUESTED, OVERALL, PARTICIPATION_ENDED, RESIGN_DUE, RESIGN_OVERDUE, SORTS
from .listing import ORGANIZATION_TASKS


class SearchForm(BaseForm):
    """A GET form: no CSRF token, and an unknown parameter is ignored."""

    class Meta:
        csrf = False


class DashboardForm(SearchForm):
    q = StringField("Search by name, Tax ID or OneHealthPort ID", validators=[Optional(), Length(max=100)])
    task = SelectField(
        "Task",
        choices=[("", "Any task"), (OVERALL, "All required tasks")]
        + [(t.key, t.title) for t in ORGANIZATION_TASKS],
        default="",
    )
    status = SelectField(
        "Status", choices=[("", "Any status")] + [(s.name, s.value) for s in Status], default=""
    )
    participation = SelectField(
        "Participation",
        choices=[
            ("", "Any"),
            (OFFBOARDING_REQUESTED, "Offboarding requested"),
            (PARTICIPATION_ENDED, "Participation ended"),
        ],
        default="",
    )
    stalled = IntegerField(
        "Stalled for more than (days)",
        validators=[
            Optional(),
            NumberBetween(1, 3650, "Enter a number of days from 1 to 3650"),
        ],
        description="Organizations not finished, with no activity for this many days.",
    )
    resign = SelectField(
        "New agreement versions",
        choices=[
            ("", "Any"),
            (RESIGN_DUE, "Re-sign due (before the date)"),
            (RESIGN_OVERDUE, "Re-sign overdue"),
        ],
        default="",
    )
    review_overdue = BooleanField("Access review overdue")
    sort = SelectField(
        "Sort by",
        choices=[(key, label) for key, label in SORTS.items()]
        + [(f"-{key}", f"{label} (descending)") for key, label in SORTS.items()],
        default="name",
    )
    page = IntegerField("Page", validators=[Optional(), NumberBetween(1, 1_000_000, "Enter a page number")])


class FixedChoicesSelect(Select):
    """A select whose choices are the same on every request (the audit trail's event types):
    each option's markup is built once, not on every page view."""

    @classmethod
    def render_option(cls, value, label, selected, **kwargs) -> Markup:
        if kwargs:
            return super().render_option(value, label, selected, **kwargs)
        return _fixed_option(value, label, selected)


@cache
def _fixed_option(value: str, label: str, selected: bool) -> Markup:
    return Select.render_option(value, label, selected)


class AuditSearchForm(SearchForm):
    organization = StringField(
        "Organization",
        validators=[Optional(), Length(max=100), NumberOrText("No organization has that number")],
        description="Its number, or part of its name.",
    )
    user = StringField(
        "User",
        validators=[Optional(), Length(max=254), NumberOrText("No user has that number")],
        description="Their number, or part of their email address. Matches who acted or who it concerned.",
    )
    event_type = SelectField(
        "Event type",
        choices=[("", "Any event")],
        default="",
        validate_choice=False,
        widget=FixedChoicesSelect(),
    )
    date_from = DateField(
        "From (UTC)", validators=[Optional()], format="%Y-%m-%d", description="For example, 2025-03-31"
    )
    date_to = DateField(
        "To (UTC)", validators=[Optional()], format="%Y-%m-%d", description="Included in the results."
    )
    page = IntegerField("Page", validators=[Optional(), NumberBetween(1, 1_000_000, "Enter a page number")])

    def validate_date_to(self, field: DateField) -> None:
        start: date | None = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError("The end date must be the same as or after the start date")

    def validate_event_type(self, field: SelectField) -> None:
        value = field.data or ""
        if len(value) > 64 or any(not (c.isalnum() or c in "._") for c in value):
            raise ValidationError("Choose an event type from the list")


class SuspendForm(BaseForm):
    reason = reason_field(
        "Why is this organization suspended?",
        "Enter the reason for the suspension",
        "The organization's members see this reason on their task list.",
    )


class RejectUploadForm(BaseForm):
    reason = reason_field(
        "Why can this signed copy not be accepted?",
        "Enter the reason the signed copy cannot be accepted",
        "The signer receives this reason by email, so say what they need to fix.",
        max_length=2000,
    )


class OffboardForm(BaseForm):
    reason = reason_field(
        "Why does this organization's participation end?",
        "Enter the reason the organization's participation ends",
        "Its members see this reason, as you write it, when they try to sign in.",
    )


class ReinstateForm(BaseForm):
    reason = reason_field(
        "Why does this organization take part again?",
        "Enter the reason the organization takes part again",
        "Kept in the audit trail.",
    )


class DeclineOffboardingForm(BaseForm):
    reason = reason_field(
        "Why is the request declined?",
        "Enter the reason the request is declined",
        "The organization's administrators see this reason, as you write it.",
    )


class ExtendSignByForm(BaseForm):
    sign_by = DateField(
        "New date to sign by",
        validators=[DataRequired(message="Enter the new date, for example 2027-03-31")],
        format="%Y-%m-%d",
        description="Year, month and day, for example 2027-03-31. Signing on that day (Pacific time) is in time.",
    )
    reason = reason_field(
        "Why does this organization get a new date?",
        "Enter the reason for the new date",
        "Kept in the audit trail.",
    )
