"""The invited person's first step: open the link, create an account or sign in, and join."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..access import Access, AccessRefused, allow
from ..auth.forms import ConfirmForm
from ..auth.services import find_user_by_email, start_session
from ..errors import error_page
from ..extensions import db, per_source
from ..models import Invitation, Membership
from ..models.organizations import ROLES
from ..views import add_error, offboarded_page, render_form
from . import acceptance, bp, invitations, services
from .forms import AcceptAccountForm

PROBLEMS = {
    "unknown": (
        404,
        "This invitation link is not valid. Check that you copied the whole link from the email.",
    ),
    "accepted": (410, "This invitation has already been accepted. If it was you, sign in."),
    "revoked": (
        410,
        "This invitation was withdrawn by your organization's administrator. "
        "Ask them to invite you again if you still need access.",
    ),
    "expired": (410, "This invitation has expired. Ask your organization's administrator to send it again."),
    "already_member": (
        409,
        "Your account already belongs to an organization, and a person can "
        "belong to only one organization in the CQMR. Ask the administrator "
        "who invited you to use a different email address, or contact the "
        "CQMR help desk.",
    ),
    "operator": (
        403,
        "Registry operators cannot join an organization. Sign out, and open the "
        "link as the person it was sent to.",
    ),
    "deactivated": (403, "Your account has been deactivated. Contact your organization's administrator."),
}


def problem_page(reason: str):
    status, message = PROBLEMS[reason]
    return render_template("team/invitation_problem.html", problem=message, reason=reason), status


def _roles(invitation: Invitation) -> list[str]:
    return [ROLES[k][0] for k in invitation.roles]


@bp.errorhandler(AccessRefused)
def refused(error: AccessRefused):
    """An operator who opens an invitation is told why they cannot join; other refusals as usual."""
    if error.level is Access.INVITEE and error.verdict == "operator":
        return problem_page("operator")
    return error_page(403)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@allow(Access.INVITEE)
@per_source("RATE_LIMIT_INVITATION")
def accept(token: str):
    try:
        invitation = acceptance.find_by_token(token)
    except invitations.InvitationError as error:
        return problem_page(error.reason)
    if invitation.organization.offboarded_at is not None:
        return offboarded_page(invitation.organization)  # nobody joins an organization that left
    if current_user.is_authenticated:
        return _accept_signed_in(invitation, g.membership)
    existing = find_user_by_email(invitation.email)
    if existing is not None:
        if existing.deactivated_at is not None:
            return problem_page("deactivated")
        if existing.is_operator:
            return problem_page("operator")
        if _has_membership(existing.id):
            return problem_page("already_member")
        return render_template(
            "team/accept_sign_in.html",
            invitation=invitation,
            roles=_roles(invitation),
            organization_name=invitations.organization_name(invitation),
            sign_in_url=url_for("auth.sign_in", next=url_for("team.accept", token=token)),
        )
    form = AcceptAccountForm(data={"full_name": invitation.full_name})
    if form.validate_on_submit():
        try:
            user = acceptance.accept_with_new_account(invitation, form.full_name.data, form.password.data)
        except services.TeamError as error:
            add_error(form, error.field, error.message)
        except invitations.InvitationError as error:
            if error.reason in ("account_exists", "wrong_account"):
                return redirect(url_for("team.accept", token=token))
            return problem_page(error.reason)
        else:
            start_session(user, "password")
            flash(f"Welcome. You are now a member of {invitations.organization_name(invitation)}.", "success")
            return redirect(url_for("main.tasks"))
    return render_form(
        "team/accept.html",
        form,
        invitation=invitation,
        roles=_roles(invitation),
        organization_name=invitations.organization_name(invitation),
    )


def _has_membership(user_id: int) -> bool:
    return db.session.scalar(select(Membership.id).where(Membership.user_id == user_id)) is not None


def _accept_signed_in(invitation: Invitation, membership: Membership | None):
    if current_user.email.lower() != invitation.email:
        return render_template(
            "team/wrong_account.html",
            invitation=invitation,
            form=ConfirmForm(),
        ), 403
    if membership is not None:
        return problem_page("already_member")
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            acceptance.accept(invitation, current_user)
        except invitations.InvitationError as error:
            return problem_page(error.reason)
        flash(f"You are now a member of {invitations.organization_name(invitation)}.", "success")
        return redirect(url_for("main.tasks"))
    return render_template(
        "team/accept_join.html",
        invitation=invitation,
        form=form,
        roles=_roles(invitation),
        organization_name=invitations.organization_name(invitation),
    )
