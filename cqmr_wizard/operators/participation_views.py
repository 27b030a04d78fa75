"""The operator's pages that end an organization's participation, reinstate it, or decline its
administrator's request: each a confirmation step with a reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..access import Access, allow
from ..models import Organization
from ..views import add_error
from . import bp, participation
from .forms import DeclineOffboardingForm, OffboardForm, ReinstateForm
from .organization import organization_or_404
from .services import OperatorError

# What each step is: its form, whether the organization is in the state it changes, its button,
# and what the operator is told once it is done ({name}: the organization's name).
STEPS = {
    "offboard": (
        OffboardForm,
        lambda org: org.offboarded_at is None,
        "End participation",
        "{name} no longer takes part in the CQMR. Its members lost their CQMR access.",
    ),
    "reinstate": (
        ReinstateForm,
        lambda org: org.offboarded_at is not None,
        "Reinstate",
        "{name} takes part in the CQMR again. Its ready members get their CQMR access back.",
    ),
    "decline": (
        DeclineOffboardingForm,
        participation.request_pending,
        "Decline the request",
        "The request to end {name}'s participation is declined. Its administrators see your reason.",
    ),
}
ACTIONS = {
    "offboard": participation.offboard,
    "reinstate": participation.reinstate,
    "decline": participation.decline,
}


def _step(step: str, org_id: int):
    org = organization_or_404(org_id)
    form_class, applies, button, done = STEPS[step]
    form = form_class()
    if not applies(org):
        # Already done (by another operator, or a second click): the organization's page says how it stands.
        return redirect(url_for("operators.organization", org_id=org_id, _anchor="participation"))
    status = 200
    if form.validate_on_submit():
        try:
            ACTIONS[step](current_user, org, form.reason.data)
        except OperatorError as error:
            add_error(form, error.field, error.message)
            status = error.status
        else:
            flash(done.format(name=_name(org)), "success")
            return redirect(url_for("operators.organization", org_id=org_id, _anchor="participation"))
    elif form.errors:
        status = 400
    return render_template(
        f"operators/{step}.html",
        form=form,
        org=org,
        name=_name(org),
        button=button,
        people=participation.people(org),
    ), status


def _name(org: Organization) -> str:
    return org.legal_name or f"Unnamed organization #{org.id}"


@bp.route("/organizations/<int:org_id>/offboard", methods=["GET", "POST"])
@allow(Access.OPERATOR)
def offboard(org_id: int):
    """End an organization's participation (confirm an administrator's request, or on its own)."""
    return _step("offboard", org_id)


@bp.route("/organizations/<int:org_id>/reinstate", methods=["GET", "POST"])
@allow(Access.OPERATOR)
def reinstate(org_id: int):
    """Let an offboarded organization take part again."""
    return _step("reinstate", org_id)


@bp.route("/organizations/<int:org_id>/offboarding-request/decline", methods=["GET", "POST"])
@allow(Access.OPERATOR)
def decline_offboarding(org_id: int):
    """Decline an administrator's request to end the organization's participation."""
    return _step("decline", org_id)
