"""Training resource forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf.file import FileField
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import ValidationError

from ..forms import BaseForm, Required
from ..models.training import AUDIENCES


class ResourceForm(BaseForm):
    title = StringField(
        "Title", validators=[Required("Enter a title", 200, "The title must be 200 characters or fewer")]
    )
    description = TextAreaField("Description (optional)", description="What it covers and how long it takes.")
    audience = RadioField(
        "Who is it for?", choices=list(AUDIENCES.items()), default="all", validate_choice=False
    )
    url = StringField(
        "Link",
        description="A web address starting with https://. Leave it empty to upload a PDF.",
        render_kw={"spellcheck": "false", "inputmode": "url"},
    )
    pdf = FileField("Or upload a PDF", render_kw={"accept": "application/pdf,.pdf"})

    def validate_description(self, field: TextAreaField) -> None:
        if len(field.data or "") > 2000:
            raise ValidationError("The description must be 2000 characters or fewer")

    def validate_audience(self, field: RadioField) -> None:
        if field.data not in AUDIENCES:
            raise ValidationError("Choose who it is for")

    def has_file(self) -> bool:
        return bool(self.pdf.data and getattr(self.pdf.data, "filename", ""))

    def validate_url(self, field: StringField) -> None:
        value = (field.data or "").strip()
        field.data = value
        if value and self.has_file():
            raise ValidationError("Give a link or upload a PDF, not both")
        if not value and not self.has_file():
            raise ValidationError("Give a link, or upload a PDF")
        if not value:
            return
        if len(value) > 2000:
            raise ValidationError("The link must be 2000 characters or fewer")
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value):
            raise ValidationError("Enter a link that starts with https://, like https://example.org/guide")
