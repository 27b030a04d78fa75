"""The operator dashboard: every organization's progress, searchable, and its CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from flask import current_app, render_template, request
from flask_login import current_user

from ..access import Access, allow
from ..csv_export import csv_stream
from ..models import Organization
from ..models.base import utcnow
from ..models.organizations import ELIGIBILITY_CHOICES
from ..pagination import page_url_maker
from . import bp, services
from .duplicates import shared_tax_ids
from .filters import Filters
from .forms import DashboardForm
from .listing import ORGANIZATION_TASKS, Listing, count, export_rows, list_organizations, split


def filters_from(form: DashboardForm) -> Filters:
    sort = form.sort.data or "name"
    return Filters(
        q=(form.q.data or "").strip(),
        task=form.task.data or "",
        status=form.status.data or "",
        stalled_days=form.stalled.data,
        participation=form.participation.data or "",
        resign=form.resign.data or "",
        review_overdue=bool(form.review_overdue.data),
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        page=form.page.data or 1,
    )


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC values back from raw column reads."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resign_state(resign_by: datetime | None, now: datetime) -> str:
    """ "Re-sign due" before the date to sign a new agreement version, "Re-sign overdue" after."""
    if resign_by is None:
        return ""
    return "Re-sign due" if as_utc(resign_by) > now else "Re-sign overdue"


def render_dashboard(form: DashboardForm, listing: Listing | None):
    """The page; with errors in the search (no listing) it answers 400."""
    return render_template(
        "operators/dashboard.html",
        form=form,
        search_form=form,
        listing=listing,
        tasks=ORGANIZATION_TASKS,
        now=utcnow(),
        resign_state=resign_state,
        eligibility=ELIGIBILITY_CHOICES,
        page_url=page_url_maker("operators.dashboard"),
        shared_tax_ids=shared_tax_ids(row.organization.tax_id for row in listing.rows) if listing else {},
        export_args={k: v for k, v in request.args.items() if k != "page" and v != ""},
    ), 200 if listing is not None else 400


@bp.route("/")
@allow(Access.OPERATOR)
def dashboard():
    form = DashboardForm(formdata=request.args)
    if not form.validate():
        return render_dashboard(form, None)
    page_size = current_app.config["OPERATOR_PAGE_SIZE"]
    return render_dashboard(form, list_organizations(filters_from(form), page_size))


@bp.route("/organizations.csv")
@allow(Access.OPERATOR)
def export_organizations():
    form = DashboardForm(formdata=request.args)
    if not form.validate():
        return render_dashboard(form, None)
    filters = filters_from(form)
    criteria = {k: v for k, v in request.args.items() if k != "page" and v != ""}
    # Audited before the rows stream out (the count is taken at the same moment).
    services.record_export(current_user, "organizations", criteria, count(filters))
    return csv_stream("organizations", EXPORT_HEADER, export_cells(filters))


EXPORT_COLUMNS = (
    Organization.id,
    Organization.legal_name,
    Organization.eligibility,
    Organization.tax_id,
    Organization.ohp_org_id,
    Organization.suspended_at,
    Organization.created_at,
)
EXPORT_HEADER = [
    "Organization ID",
    "Legal name",
    "Eligibility",
    "Tax ID",
    "OneHealthPort ID",
    *(task.title for task in ORGANIZATION_TASKS),
    "All required tasks",
    "Members",
    "Members ready",
    "Suspended",
    "Started",
    "Last activity",
    "Completed",
    "Re-sign",
    "Sign new version by",
    "Access review due",
]


def export_cells(filters: Filters) -> Iterator[list[object]]:
    """The CSV's rows, as the query streams them."""
    now = utcnow()
    for result in export_rows(filters, *EXPORT_COLUMNS):
        (org_id, name, eligibility, tax_id, ohp, suspended, started), states, overall, rest = split(
            result, len(EXPORT_COLUMNS)
        )
        members, ready, last_activity, completed_at, resign_by, review_due = rest
        yield [
            org_id,
            name,
            ELIGIBILITY_CHOICES.get(eligibility, eligibility),
            tax_id,
            ohp,
            *(state.status.value for state in states),
            overall.value,
            members,
            ready,
            suspended,
            started,
            last_activity,
            completed_at,
            resign_state(resign_by, now),
            resign_by,
            review_due,
        ]
