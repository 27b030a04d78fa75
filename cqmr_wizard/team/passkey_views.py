"""The administrator's page to require passkeys of their organization's members."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow, passkeys_due
from ..models.base import utcnow
from ..template_filters import when_text
from ..views import accepted
from . import bp, passkey_policy
from .forms import PasskeyPolicyForm
from .services import TeamError


@bp.route("/team/passkeys", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def passkeys():
    """See and change whether members must use a passkey."""
    org = g.membership.organization
    form = PasskeyPolicyForm(data={"required": "required" if org.passkeys_required_at else "optional"})
    required = form.required.data == "required"
    if form.validate_on_submit() and accepted(
        form, lambda: passkey_policy.set_required(current_user, org, required), TeamError
    ):
        if required:
            flash(
                "Members must now use a passkey. Those without one are asked to add one by "
                f"{when_text(passkeys_due(org))}.",
                "success",
            )
        else:
            flash(
                "Members no longer need a passkey: they may use an authenticator app or a passkey.", "success"
            )
        return redirect(url_for("team.passkeys"))
    status = 400 if form.errors or form.form_errors else 200
    grace = current_app.config["ORG_PASSKEY_GRACE"]
    return render_template(
        "team/passkeys.html", form=form, org=org, due=passkeys_due(org), grace_days=grace.days, now=utcnow()
    ), status
