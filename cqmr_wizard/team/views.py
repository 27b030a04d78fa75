"""The administrator's team page and what they can do to a member."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..models import Membership, OrganizationProgress
from ..models.organizations import ROLES
from ..security import bounded_int_arg
from ..views import accepted, add_error, render_form
from . import bp, services
from .forms import ROLE_DESCRIPTIONS, RolesForm, TeamFilterForm
from .roster import member_sso_linked, roster


def member_or_404(member_id: int) -> Membership:
    """A membership of the administrator's own organization; anyone else's is not found."""
    member = services.get_member(g.membership.organization_id, member_id)
    if member is None:
        abort(404)
    return member


def mfa_member_url(member: Membership) -> str:
    """The two-step verification page for this member, where an administrator resets it."""
    return url_for("mfa.member", user_id=member.user_id)


def page_button(
    page: Callable[[ConfirmForm, int], ResponseReturnValue],
    action: Callable[[], object],
    done: str,
    target: str,
):
    """A POST-only button on a member's or an invitation's page: a refusal shows that page again
    with the reason (400); otherwise say `done` and go to `target`."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if not accepted(form, action, services.TeamError):
        return page(form, 400)
    flash(done, "success")
    return redirect(target)


def _page_number() -> int:
    return bounded_int_arg("page", 1, high=1_000_000)


@bp.route("/team")
@allow(Access.ORG_ADMIN)
def index():
    filters = TeamFilterForm(request.args)
    result = roster(
        g.membership.organization_id,
        role=filters.role.data or None,
        readiness=filters.readiness.data or None,
        text=filters.q.data,
        page=_page_number(),
        per_page=int(current_app.config["TEAM_PAGE_SIZE"]),
    )
    active_filters = {k: v for k, v in request.args.items() if k in ("q", "role", "readiness") and v}
    return render_template(
        "team/index.html",
        roster=result,
        filters=filters,
        active_filters=active_filters,
        counts=db.session.get(OrganizationProgress, g.membership.organization_id),
        roles=ROLES,
        organization=g.membership.organization,
    )


@bp.route("/team/members/<int:member_id>")
@allow(Access.ORG_ADMIN)
def member(member_id: int):
    member = member_or_404(member_id)
    return _member_page(member, ConfirmForm())


def _member_page(member: Membership, form: ConfirmForm, status: int = 200):
    return render_template(
        "team/member.html",
        member=member,
        user=member.user,
        form=form,
        roles=ROLES,
        mfa_url=mfa_member_url(member),
        own_account=member.user_id == current_user.id,
        sso_linked=member_sso_linked(member.user_id),
    ), status


@bp.route("/team/members/<int:member_id>/roles", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def member_roles(member_id: int):
    member = member_or_404(member_id)
    form = RolesForm(data={"roles": [k for k in ROLES if member.has_role(k)]})
    if form.validate_on_submit():
        try:
            changed = services.change_roles(current_user, member, form.roles.data)
        except services.TeamError as error:
            add_error(form, error.field, error.message)
        else:
            if changed:
                flash(f"{member.user.full_name}'s roles were changed.", "success")
            if not member.has_role("admin") and member.user_id == current_user.id:
                return redirect(url_for("main.tasks"))  # no longer an administrator
            return redirect(url_for("team.member", member_id=member.id))
    return render_form("team/roles.html", form, member=member, descriptions=ROLE_DESCRIPTIONS)


@bp.route("/team/members/<int:member_id>/deactivate", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def deactivate(member_id: int):
    member = member_or_404(member_id)
    form = ConfirmForm()
    if form.validate_on_submit() and accepted(
        form, lambda: services.deactivate(current_user, member), services.TeamError
    ):
        flash(f"{member.user.full_name} was deactivated and signed out everywhere.", "success")
        return redirect(url_for("team.member", member_id=member.id))
    return render_form("team/deactivate.html", form, member=member)


@bp.route("/team/members/<int:member_id>/reactivate", methods=["POST"])
@allow(Access.ORG_ADMIN)
def reactivate(member_id: int):
    member = member_or_404(member_id)
    return page_button(
        partial(_member_page, member),
        lambda: services.reactivate(current_user, member),
        f"{member.user.full_name} was reactivated and can sign in again.",
        url_for("team.member", member_id=member.id),
    )
