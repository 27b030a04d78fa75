"""Helpers every blueprint's views use."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, render_template
from flask_wtf import FlaskForm

from .models import Organization
from .refusals import Refusal


def render_form(template: str, form: FlaskForm, **context: object) -> tuple[str, int]:
    """Render a form page; a page showing errors answers 400."""
    status = 400 if form.errors else 200
    return render_template(template, form=form, **context), status


def add_error(form: FlaskForm, field: str | None, message: str) -> None:
    """Attach a service's refusal to the field it concerns (or the form)."""
    if field and field in form:
        form[field].errors = [*form[field].errors, message]
    else:
        form.form_errors.append(message)


def refused(
    template: str, form: FlaskForm, refusal: Refusal, field: str | None = None, **context: object
) -> tuple[str, int]:
    """The form page again with the service's refusal on its field (or `field`), at its status."""
    add_error(form, field or refusal.field, refusal.message)
    return render_template(template, form=form, **context), refusal.status


def accepted(
    form: FlaskForm,
    action: Callable[[], object],
    refusal: type[Refusal] = Refusal,
    field: str | None = None,
) -> bool:
    """True when the service `action` did it; when it refused, the form says why (at `field` if given)."""
    try:
        action()
    except refusal as error:
        add_error(form, field or error.field, error.message)
        return False
    return True


def pdf_download(data: bytes, filename: str) -> Response:
    """A PDF sent as a download named `filename`."""
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def offboarded_page(organization: Organization) -> tuple[str, int]:
    """The 403 a member of an organization that no longer takes part in the CQMR gets, at
    sign-in and on every page: since when, the operator's reason, and whom to call."""
    return render_template("errors/offboarded.html", org=organization), 403
