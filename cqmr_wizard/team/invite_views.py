"""Inviting people one at a time or from a CSV file; resending and revoking invitations."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..models import Invitation
from ..models.organizations import ROLES
from ..views import add_error, render_form
from . import bp, csv_import, invitations, services
from .forms import ROLE_DESCRIPTIONS, InviteForm, UploadForm


def too_many(message: str) -> TooManyRequests:
    """A 429 whose page says what the limit is."""
    error = TooManyRequests()
    error.cqmr_detail = message  # type: ignore[attr-defined]
    return error


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
        try:
            invitations.invite(current_user, g.membership.organization_id, [person])
        except services.TeamError as error:
            add_error(form, error.field, error.message)
        except invitations.RateLimited as error:
            raise too_many(error.message) from None
        else:
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
            else:
                try:
                    invitations.invite(
                        current_user, g.membership.organization_id, result.people, source="csv"
                    )
                except services.TeamError as error:
                    add_error(form, "csv_file", error.message)
                except invitations.RateLimited as error:
                    raise too_many(error.message) from None
                else:
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
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        invitations.resend(current_user, invitation)
    except services.TeamError as error:
        add_error(form, None, error.message)
        return _invitation_page(invitation, form, 400)
    except invitations.RateLimited as error:
        raise too_many(error.message) from None
    flash(f"A new invitation was sent to {invitation.email}. The earlier link no longer works.", "success")
    return redirect(url_for("team.invitation", invitation_id=invitation.id))


@bp.route("/team/invitations/<int:invitation_id>/revoke", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def revoke(invitation_id: int):
    invitation = invitation_or_404(invitation_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            invitations.revoke(current_user, invitation)
        except services.TeamError as error:
            add_error(form, None, error.message)
        else:
            flash(f"The invitation to {invitation.email} was revoked; its link no longer works.", "success")
            return redirect(url_for("team.index"))
    return render_form("team/revoke.html", form, invitation=invitation)
