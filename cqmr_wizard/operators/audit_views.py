"""The audit trail for operators: search, pages, CSV export, and the hash chain's state.

Each view continues the chain check from the last verified row over the rows appended since
(at most VERIFY_PER_VIEW of them) and shows the last result and when it ran; `flask audit
verify` checks the whole chain and remains the authority."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from ..access import Access, allow
from ..audit import verifications
from ..csv_export import csv_stream
from ..pagination import page_url_maker
from . import bp, services
from .audit_search import (
    COUNT_LIMIT,
    CSV_HEADER,
    PAGE_SIZE,
    AuditFilters,
    count_events,
    event_types,
    export_rows,
    page_of_events,
)
from .forms import AuditSearchForm

VERIFY_PER_VIEW = 5000


def search_form() -> AuditSearchForm:
    form = AuditSearchForm(formdata=request.args)
    form.event_type.choices = [("", "Any event"), *event_types()]
    return form


def filters_from(form: AuditSearchForm) -> AuditFilters:
    return AuditFilters(
        organization=(form.organization.data or "").strip(),
        user=(form.user.data or "").strip(),
        event_type=form.event_type.data or "",
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        page=form.page.data or 1,
    )


def render_trail(form: AuditSearchForm, rows: list | None, total: int, page: int):
    more = total > COUNT_LIMIT  # uncounted beyond COUNT_LIMIT: there is always a next page
    pages = max(1, -(-total // PAGE_SIZE), page + 1 if more and len(rows or ()) == PAGE_SIZE else page)
    chain, last_full = verifications.verify_new_for_page(limit=VERIFY_PER_VIEW)
    return render_template(
        "operators/audit.html",
        form=form,
        search_form=form,
        rows=rows,
        total=total,
        more=more,
        count_limit=COUNT_LIMIT,
        page=page,
        pages=pages,
        chain=chain,
        last_full=last_full,
        page_url=page_url_maker("operators.audit_trail"),
        export_args={k: v for k, v in request.args.items() if k != "page" and v != ""},
    ), 200 if rows is not None else 400


@bp.route("/audit")
@allow(Access.OPERATOR)
def audit_trail():
    form = search_form()
    if not form.validate():
        return render_trail(form, None, 0, 1)
    filters = filters_from(form)
    rows, total = page_of_events(filters)
    return render_trail(form, rows, total, filters.page)


@bp.route("/audit.csv")
@allow(Access.OPERATOR)
def export_audit():
    form = search_form()
    if not form.validate():
        return render_trail(form, None, 0, 1)
    filters = filters_from(form)
    services.record_export(current_user, "audit_events", filters.criteria(), count_events(filters))
    return csv_stream("audit-trail", CSV_HEADER, export_rows(filters))
