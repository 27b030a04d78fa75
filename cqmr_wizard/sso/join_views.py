"""Pages for asking to join an organization that is already registered, and for its
administrator's decision."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..models import Organization
from ..models.base import utcnow
from ..models.organizations import ROLES
from ..views import add_error
from . import bp, joins
from .forms import DecideJoinForm
from .services import Refused

CANDIDATE_MAX_AGE = 3600  # seconds a OneHealthPort sign-in keeps pointing at an organization


def _candidate() -> Organization | None:
    """The registered organization the person's latest OneHealthPort sign-in pointed at."""
    data = session.get(joins.CANDIDATE_KEY)
    if not isinstance(data, dict) or utcnow().timestamp() - data.get("at", 0) > CANDIDATE_MAX_AGE:
        return None
    org = db.session.get(Organization, data.get("organization_id"))
    if org is None or org.ohp_org_id != data.get("ohp_org_id"):
        return None
    return org


@bp.app_template_global()
def ohp_task_list_notes() -> dict:
    """What the task list says about joining: the person's own request, or requests to decide."""
    membership = g.get("membership")
    if membership is None:
        return {"request": joins.latest_request(current_user.id), "to_decide": 0}
    to_decide = joins.pending_count(membership.organization_id) if membership.has_role("admin") else 0
    return {"request": None, "to_decide": to_decide}


@bp.route("/organization/already-registered", methods=["GET", "POST"])
@allow(Access.APPLICANT)
def join_offer():
    org = _candidate()
    if org is None:
        flash("Sign in with OneHealthPort to find your organization.", "info")
        return redirect(url_for("sso.connect"))
    membership = g.membership
    if membership is not None and membership.organization_id == org.id:
        return redirect(url_for("main.tasks"))
    form = ConfirmForm()
    status = 200
    if form.validate_on_submit():
        try:
            joins.request_to_join(current_user, membership, org)
        except Refused as refused:
            add_error(form, None, refused.message)
            status = refused.status
        else:
            session.pop(joins.CANDIDATE_KEY, None)
            return redirect(url_for("sso.join_status"))
    latest = joins.latest_request(current_user.id)
    return render_template(
        "sso/join_offer.html",
        org=org,
        name=joins.organization_name(org),
        membership=membership,
        can_set_aside=joins.can_set_aside(membership),
        form=form,
        pending=latest if latest is not None and latest.pending else None,
    ), status


@bp.route("/organization/join-request")
@allow(Access.USER)
def join_status():
    latest = joins.latest_request(current_user.id)
    if latest is None:
        return redirect(url_for("main.tasks"))
    return render_template(
        "sso/join_status.html", join=latest, name=joins.organization_name(latest.organization)
    )


@bp.route("/organization/join-requests")
@allow(Access.ORG_ADMIN)
def join_requests():
    return render_template(
        "sso/join_requests.html", requests=joins.pending_requests(g.membership.organization_id)
    )


@bp.route("/organization/join-requests/<int:request_id>", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def decide_join(request_id: int):
    join = joins.load_for_decision(g.membership.organization_id, request_id)
    if join is None:
        abort(404)
    form = DecideJoinForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                if form.decision.data == "approve":
                    joins.approve(current_user, join, form.role.data)
                    flash(f"{join.user.full_name} is now a member of your organization.", "success")
                else:
                    joins.decline(current_user, join)
                    flash(f"You declined {join.user.full_name}'s request.", "info")
                return redirect(url_for("sso.join_requests"))
            except Refused as refused:
                db.session.rollback()
                add_error(form, None, refused.message)
                status = refused.status
        else:
            status = 400
    return render_template("sso/decide_join.html", form=form, join=join, roles=ROLES), status
