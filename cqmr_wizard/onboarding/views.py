"""Eligibility and organization details: one question per page, each answer saved at once."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..models.organizations import ELIGIBILITY_CHOICES, ORGANIZATION_TYPES
from ..views import render_form
from . import bp, forms, services
from .facts import REQUIRED_DETAILS, details_answered


@dataclass(frozen=True)
class DetailPage:
    slug: str
    form: type[FlaskForm]
    fields: tuple[str, ...]
    answer: str  # the fact name this page answers
    title: str
    heading: str


DETAIL_PAGES = [
    DetailPage(
        "legal-name",
        forms.LegalNameForm,
        ("legal_name",),
        "legal_name",
        "Legal name",
        "What is your organization's legal name?",
    ),
    DetailPage(
        "type",
        forms.OrganizationTypeForm,
        ("organization_type",),
        "organization_type",
        "Type of organization",
        "What type of organization is it?",
    ),
    DetailPage(
        "identifiers",
        forms.IdentifiersForm,
        ("tax_id", "npi"),
        "tax_id",
        "Tax ID and NPI",
        "What are your organization's identifiers?",
    ),
    DetailPage(
        "address",
        forms.AddressForm,
        ("address_line1", "address_line2", "city", "state", "postal_code"),
        "address",
        "Address",
        "What is your organization's address?",
    ),
    DetailPage(
        "phone",
        forms.PhoneForm,
        ("phone",),
        "phone",
        "Phone number",
        "What is your organization's main phone number?",
    ),
]
PAGES_BY_SLUG = {page.slug: page for page in DETAIL_PAGES}


@bp.route("/eligibility", methods=["GET", "POST"])
@allow(Access.FOUNDER)
def eligibility():
    membership = g.membership
    saved = membership.organization.eligibility if membership else None
    form = forms.EligibilityForm(data={"eligibility": saved})
    if form.validate_on_submit():
        try:
            services.answer_eligibility(current_user, membership, form.eligibility.data)
        except services.NotEligible:
            return render_template("onboarding/not_eligible.html", has_org=membership is not None)
        return redirect(url_for("onboarding.details"))
    return render_form("onboarding/eligibility.html", form, has_org=membership is not None)


@bp.route("/details")
@allow(Access.ORG_ADMIN)
def details():
    """Resume the details task at the first unanswered question."""
    answered = details_answered(g.membership.organization)
    for page in DETAIL_PAGES:
        if page.answer not in answered and page.answer in REQUIRED_DETAILS:
            return redirect(url_for("onboarding.detail_page", slug=page.slug))
    return redirect(url_for("onboarding.check_details"))


@bp.route("/details/<slug>", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def detail_page(slug: str):
    page = PAGES_BY_SLUG.get(slug)
    if page is None:
        abort(404)
    org = g.membership.organization
    returning = request.args.get("return") == "check"
    form = page.form(data={name: getattr(org, name) for name in page.fields})
    if form.validate_on_submit():
        services.save_answers(current_user, org, {name: form[name].data for name in page.fields})
        if request.form.get("save_and_return"):
            return redirect(url_for("main.tasks"))
        index = DETAIL_PAGES.index(page)
        if returning or index + 1 == len(DETAIL_PAGES):
            return redirect(url_for("onboarding.check_details"))
        return redirect(url_for("onboarding.detail_page", slug=DETAIL_PAGES[index + 1].slug))
    if _left_blank(form, page):
        return redirect(url_for("main.tasks"))
    index = DETAIL_PAGES.index(page)
    back = (
        url_for("onboarding.check_details")
        if returning
        else url_for("onboarding.detail_page", slug=DETAIL_PAGES[index - 1].slug)
        if index
        else url_for("main.tasks")
    )
    return render_form("onboarding/detail_question.html", form, page=page, back=back, returning=returning)


def _left_blank(form: FlaskForm, page: DetailPage) -> bool:
    """ "Save and come back later" on a page left blank: nothing to save, nothing to refuse."""
    if not (form.is_submitted() and request.form.get("save_and_return")) or "csrf_token" in form.errors:
        return False
    return all(not (request.form.get(name) or "").strip() for name in page.fields)


@bp.route("/details/check", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def check_details():
    org = g.membership.organization
    answered = details_answered(org)
    missing = [p for p in DETAIL_PAGES if p.answer in REQUIRED_DETAILS and p.answer not in answered]
    form = ConfirmForm()
    if form.validate_on_submit():
        if missing:
            form.form_errors.append("Answer every question before confirming")
        else:
            services.confirm_details(current_user, org)
            return redirect(url_for("main.tasks"))
    status = 400 if form.form_errors else 200
    return render_template(
        "onboarding/check_details.html",
        org=org,
        form=form,
        missing=missing,
        pages=DETAIL_PAGES,
        types=ORGANIZATION_TYPES,
        eligibility=ELIGIBILITY_CHOICES,
    ), status
