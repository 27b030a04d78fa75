"""Recovery codes: shown once after set-up (to download, print and prove saved), and replaced
on request after the person confirms it is them."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, session, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..views import add_error, render_form
from . import bp, recovery, services
from .forms import SavedCodeForm
from .views import REVERIFIED, reverified


@bp.route("/recovery-codes", methods=["GET", "POST"])
@allow(Access.USER)
def recovery_codes():
    codes = recovery.shown_codes()
    position = recovery.check_position()
    if codes is None or position is None:
        return render_template("mfa/recovery_codes_gone.html", left=recovery.remaining(current_user.id))
    form = SavedCodeForm()
    form.recovery_code.label.text = f"Recovery code {position}"
    form.recovery_code.description = f"Type recovery code {position} from the copy you saved."
    if form.validate_on_submit():
        try:
            recovery.confirm_saved(current_user, form.recovery_code.data)
        except recovery.CodeNotSaved as error:
            add_error(form, "recovery_code", error.message)
        else:
            flash("Your recovery codes are saved. Keep them somewhere safe, away from your phone.", "success")
            return redirect(services.next_path())
    return render_form("mfa/recovery_codes.html", form, codes=codes, position=position)


def shown_codes_or_404() -> list[str]:
    """The recovery codes being shown to this session; once saved or expired they are not found."""
    codes = recovery.shown_codes()
    if codes is None:
        abort(404)
    return codes


@bp.route("/recovery-codes/download")
@allow(Access.USER)
def download_codes():
    body = render_template("mfa/recovery_codes.txt", codes=shown_codes_or_404(), account=current_user.email)
    response = make_response(body)
    response.mimetype = "text/plain"
    response.headers["Content-Disposition"] = 'attachment; filename="cqmr-recovery-codes.txt"'
    return response


@bp.route("/recovery-codes/print")
@allow(Access.USER)
def print_codes():
    return render_template(
        "mfa/recovery_codes_print.html", codes=shown_codes_or_404(), account=current_user.email
    )


@bp.route("/recovery-codes/new", methods=["GET", "POST"])
@allow(Access.USER)
def regenerate_codes():
    if not reverified():
        return redirect(url_for("mfa.reverify", next=url_for("mfa.regenerate_codes")))
    form = ConfirmForm()
    if form.validate_on_submit():
        session.pop(REVERIFIED, None)
        recovery.regenerate(current_user)
        return redirect(url_for("mfa.recovery_codes"))
    return render_template("mfa/regenerate_codes.html", form=form, left=recovery.remaining(current_user.id))
