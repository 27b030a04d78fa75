"""The administrator's yearly access review page, and the download of past reviews."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..csv_export import csv_response
from ..extensions import db
from ..models import OrganizationProgress
from ..models.organizations import ROLES
from . import bp
from .review import ACTIONS, CHANGE, KEEP, Decision, ReviewError, confirm_review, last_review, review_rows
from .review_export import HEADER, export_rows, record_download


def decisions_from(form: dict, getlist) -> dict[int, Decision]:
    """The choices posted: `action-<member id>` and, for a change, `roles-<member id>`."""
    decisions = {}
    for name, action in form.items():
        prefix, _, member_id = name.partition("-")
        if prefix == "action" and member_id.isdigit():
            decisions[int(member_id)] = Decision(action, frozenset(getlist(f"roles-{member_id}")))
    return decisions


def _page(form: ConfirmForm, decisions: dict[int, Decision] | None = None, problems=None, status: int = 200):
    organization_id = g.membership.organization_id
    progress = db.session.get(OrganizationProgress, organization_id)
    return render_template(
        "team/review.html",
        form=form,
        rows=review_rows(organization_id),
        decisions=decisions or {},
        problems=problems or {},
        actions=ACTIONS,
        keep=KEEP,
        change=CHANGE,
        roles=ROLES,
        due_at=progress.access_review_due_at if progress is not None else None,
        last=last_review(organization_id),
        organization=g.membership.organization,
    ), status


@bp.route("/team/access-review", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def access_review():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    decisions = decisions_from(request.form, request.form.getlist)
    try:
        review = confirm_review(current_user, g.membership.organization, decisions)
    except ReviewError as error:
        if not error.problems:
            form.form_errors.append(error.message)
        return _page(form, decisions, error.problems, 400)
    changes = review.changed
    flash(
        f"Access review confirmed: {len(changes['kept'])} kept, {len(changes['roles_changed'])} "
        f"with new roles, {len(changes['removed'])} removed.",
        "success",
    )
    if not g.membership.has_role("admin"):
        return redirect(url_for("main.tasks"))  # they gave up their own administrator role
    return redirect(url_for("team.access_review"))


@bp.route("/team/access-reviews.csv")
@allow(Access.ORG_ADMIN)
def access_reviews_csv():
    organization_id = g.membership.organization_id
    record_download(current_user, organization_id)
    return csv_response("access-reviews", HEADER, export_rows(organization_id))
