"""The "Your account" page: one place for what belongs to the person rather than to onboarding."""

from __future__ import annotations

from flask import current_app, render_template
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..mfa import admin as mfa_admin
from ..sso import provider
from ..sso.services import identity_for
from . import bp


@bp.route("/account")
@allow(Access.USER)
def index():
    """The person's OneHealthPort link, two-step verification and sessions, in one place."""
    issuer = current_app.config.get("OIDC_ISSUER")
    return render_template(
        "account/index.html",
        identity=identity_for(current_user.id, issuer) if issuer else None,
        sso_enabled=provider.enabled(),
        second_factor=mfa_admin.member_status(current_user.id),
        form=ConfirmForm(),
    )
