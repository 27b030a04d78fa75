"""The operator dashboard: every organization's progress, searchable, and its CSV export."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from ..access import Access, allow
from ..models.organizations import ELIGIBILITY_CHOICES
from . import bp, services
from .csv_export import csv_response
from .duplicates import shared_tax_ids
from .forms import DashboardForm
from .listing import ORGANIZATION_TASKS, Filters, Listing, export_rows, list_organizations
from .pagination import page_url_maker


def filters_from(form: DashboardForm) -> Filters:
    sort = form.sort.data or "name"
    return Filters(
        q=(form.q.data or "").strip(),
        task=form.task.data or "",
        status=form.status.data or "",
        stalled_days=form.stalled.data,
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        page=form.page.data or 1,
    )


def render_dashboard(form: DashboardForm, listing: Listing | None):
    """The page; with errors in the search (no listing) it answers 400."""
    return render_template(
        "operators/dashboard.html",
        form=form,
        search_form=form,
        listing=listing,
        tasks=ORGANIZATION_TASKS,
        eligibility=ELIGIBILITY_CHOICES,
        page_url=page_url_maker("operators.dashboard"),
        shared_tax_ids=shared_tax_ids(),
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
    rows = export_rows(filters_from(form))
    header = [
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
    ]
    cells = [
        [
            row.organization.id,
            row.organization.legal_name,
            ELIGIBILITY_CHOICES.get(row.organization.eligibility, row.organization.eligibility),
            row.organization.tax_id,
            row.organization.ohp_org_id,
            *(state.status.value for state in row.states),
            row.overall.value,
            row.members,
            row.ready,
            row.organization.suspended_at,
            row.organization.created_at,
            row.last_activity,
            row.completed_at,
        ]
        for row in rows
    ]
    # Audited after the cells are read: the commit expires every loaded row.
    criteria = {k: v for k, v in request.args.items() if k != "page" and v != ""}
    services.record_export(current_user, "organizations", criteria, len(cells))
    return csv_response("organizations", header, cells)
