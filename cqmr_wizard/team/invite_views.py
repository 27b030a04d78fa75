"""Inviting people one at a time or from a CSV file; resending and revoking invitations."""

from __future__ import annotations

from functools import partial

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..errors import error_page
from ..models import Invitation
from ..models.organizations import ROLES
from ..views import accepted, add_error, render_form
from . import bp, csv_import, invitations, services
from .forms import ROLE_DESCRIPTIONS, InviteForm, UploadForm
from .views import page_button


@bp.errorhandler(invitations.RateLimited)
def invitation_limit(error: invitations.RateLimited):
    """Inviting, uploading and resending all count against one limit: a 429 that says what it is."""
    return error_page(429, error.message)


def invitation_or_404(invitation_id: int) -> Invitation:
    """An invitation of the administrator's own organization; anyone else's is not found."""
    invitation = services.get_invitation(g.membership.organization_id, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.route("/team/invite", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        person = invitations.NewInvitation(form.full_name.data, form.email.data, tuple(form.roles.data))
        if accepted(
            form,
            lambda: invitations.invite(current_user, g.membership.organization_id, [person]),
            services.TeamError,
        ):
            flash(f"An invitation was sent to {person.email}.", "success")
            return redirect(url_for("team.index"))
    return render_form("team/invite.html", form, descriptions=ROLE_DESCRIPTIONS)


@bp.route("/team/invite/upload", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def upload():
    form = UploadForm()
    problems: list[csv_import.RowProblem] = []
    config = current_app.config
    if form.validate_on_submit():
        limit = int(config["INVITATION_CSV_MAX_BYTES"])
        data = form.csv_file.data.stream.read(limit + 1)
        try:
            result = csv_import.read_invitations(
                data,
                g.membership.organization_id,
                max_bytes=limit,
                max_rows=int(config["INVITATION_CSV_MAX_ROWS"]),
            )
        except csv_import.CsvFileProblem as error:
            add_error(form, "csv_file", error.message)
        else:
            problems = result.problems
            if problems:
                rows = len({p.line for p in problems})
                add_error(
                    form,
                    "csv_file",
                    f"The file has problems on {rows} row{'s' if rows != 1 else ''}. "
                    "Nobody was invited. Correct the file and upload it again.",
                )
            elif accepted(
                form,
                lambda: invitations.invite(
                    current_user, g.membership.organization_id, result.people, source="csv"
                ),
                services.TeamError,
                "csv_file",
            ):
                count = len(result.people)
                flash(f"{count} invitation{'s were' if count != 1 else ' was'} sent.", "success")
                return redirect(url_for("team.index"))
    return render_form(
        "team/upload.html",
        form,
        problems=problems,
        roles=ROLES,
        max_rows=config["INVITATION_CSV_MAX_ROWS"],
        max_kb=config["INVITATION_CSV_MAX_BYTES"] // 1024,
    )


def _invitation_page(invitation: Invitation, form: ConfirmForm, status: int = 200):
    return render_template(
        "team/invitation.html", invitation=invitation, form=form, status=invitation.status(), roles=ROLES
    ), status


@bp.route("/team/invitations/<int:invitation_id>")
@allow(Access.ORG_ADMIN)
def invitation(invitation_id: int):
    return _invitation_page(invitation_or_404(invitation_id), ConfirmForm())


@bp.route("/team/invitations/<int:invitation_id>/resend", methods=["POST"])
@allow(Access.ORG_ADMIN)
def resend(invitation_id: int):
    invitation = invitation_or_404(invitation_id)
    return page_button(
        partial(_invitation_page, invitation),
        lambda: invitations.resend(current_user, invitation),
        f"A new invitation was sent to {invitation.email}. The earlier link no longer works.",
        url_for("team.invitation", invitation_id=invitation.id),
    )


@bp.route("/team/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def revoke(invitation_id: int):
    invitation = invitation_or_404(invitation_id)
    form = ConfirmForm()
    if form.validate_on_submit() and accepted(
        form, lambda: invitations.revoke(current_user, invitation), services.TeamError
    ):
        flash(f"The invitation to {invitation.email} was revoked; its link no longer works.", "success")
        return redirect(url_for("team.index"))
    return render_form("team/revoke.html", form, invitation=invitation)
