"""An operator moving the date by which one organization must sign a new agreement version."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..agreements.documents import KINDS
from ..agreements.windows import ExtensionError, agreement_rows, end_of_day, extend_sign_by
from ..views import add_error
from . import bp
from .forms import ExtendSignByForm
from .organization import organization_or_404


@bp.route("/organizations/<int:org_id>/agreements/<kind>/extend", methods=["GET", "POST"])
@allow(Access.OPERATOR)
def extend_agreement_date(org_id: int, kind: str):
    org = organization_or_404(org_id)
    if kind not in KINDS or KINDS[kind].scope != "organization":
        abort(404)
    row = next(r for r in agreement_rows(org_id) if r.kind == kind)
    if not row.extendable:
        abort(404)
    form = ExtendSignByForm()
    if form.validate_on_submit():
        try:
            extend_sign_by(current_user, org, kind, end_of_day(form.sign_by.data), form.reason.data)
        except ExtensionError as error:
            add_error(form, error.field, error.message)
        else:
            flash(
                f"{org.legal_name or 'The organization'} has a new date to sign the {row.title}.", "success"
            )
            return redirect(url_for("operators.organization", org_id=org_id, _anchor="agreements"))
    return render_template(
        "operators/extend_agreement_date.html", form=form, org=org, row=row
    ), 400 if form.errors else 200
