"""Consent to electronic records, each user's own agreements, and checking a signed document."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from ..access import Access, allow
from ..auth.forms import ConfirmForm
from ..extensions import db
from ..models import UserSignature
from ..security import safe_next_path
from ..views import add_error, render_form
from . import bp, forms, services, signing
from .changes import new_versions
from .completion import signature_document
from .consent import active_consent, disclosure, give_consent, withdraw_consent
from .documents import BY_SLUG, AgreementKind
from .evidence import client_info
from .facts import agreement_facts
from .verification import verify_document
from .views import refusal_page


def user_kind(slug: str) -> AgreementKind:
    kind = BY_SLUG.get(slug)
    if kind is None or kind.scope != "user":
        abort(404)
    return kind


def agreements_home() -> str:
    membership = g.membership
    if membership is not None and membership.has_role("signer"):
        return url_for("agreements.organization")
    return url_for("agreements.user_agreements")


@bp.route("/consent", methods=["GET", "POST"])
@allow(Access.USER)
def consent():
    next_path = safe_next_path(request.args.get("next")) or agreements_home()
    existing = active_consent(current_user.id)
    form = forms.ConsentForm()
    if existing is None and form.validate_on_submit():
        give_consent(current_user, client_info())
        return redirect(next_path)
    return render_form(
        "agreements/consent.html", form, disclosure=disclosure(), existing=existing, next_path=next_path
    )


@bp.route("/consent/withdraw", methods=["GET", "POST"])
@allow(Access.USER)
def withdraw():
    existing = active_consent(current_user.id)
    form = ConfirmForm()
    if existing is not None and form.validate_on_submit():
        withdraw_consent(current_user, client_info())
        flash(
            "You have withdrawn your consent to electronic records and signatures. What you "
            "signed before still stands. To sign again, consent again or return a signed "
            "paper copy.",
            "info",
        )
        return redirect(agreements_home())
    return render_template("agreements/withdraw.html", form=form, existing=existing)


@bp.route("/yours")
@allow(Access.USER)
def user_agreements():
    _, facts = agreement_facts((), [current_user.id])
    changed = new_versions(facts[current_user.id])
    return render_template(
        "agreements/user.html",
        new_versions=changed,
        resigning={change.version.kind for change in changed},
        states=services.user_states(current_user),
        consent=active_consent(current_user.id),
    )


@bp.route("/yours/<slug>", methods=["GET", "POST"])
@allow(Access.USER)
def user_read(slug: str):
    kind = user_kind(slug)
    version = services.current_version(kind.key)
    if version is None:
        abort(404)
    if active_consent(current_user.id) is None:
        return redirect(url_for("agreements.consent", next=request.path))
    form = forms.ReviewForm(data={"version_id": version.id, "content_sha256": version.content_sha256})
    if form.validate_on_submit():
        try:
            version = services.require_current(kind.key, *form.shown_version())
        except services.StaleVersion as error:
            return refusal_page(error, kind, again=url_for("agreements.user_read", slug=slug))
        services.record_review(
            current_user, version, client_info(), g.membership.organization_id if g.membership else None
        )
        return redirect(url_for("agreements.user_sign", slug=slug))
    state = next(s for s in services.user_states(current_user) if s.kind == kind.key)
    return render_form("agreements/read.html", form, kind=kind, version=version, scope="user", state=state)


@bp.route("/yours/<slug>/sign", methods=["GET", "POST"])
@allow(Access.USER)
def user_sign(slug: str):
    kind = user_kind(slug)
    version = services.current_version(kind.key)
    if version is None:
        abort(404)
    if request.method == "GET" and (
        active_consent(current_user.id) is None or services.latest_review(current_user.id, version.id) is None
    ):
        return redirect(url_for("agreements.user_read", slug=slug))
    form = forms.UserSignForm(data={"version_id": version.id, "content_sha256": version.content_sha256})
    if form.validate_on_submit():
        try:
            signature = signing.sign_user_agreement(
                current_user,
                g.membership,
                kind.key,
                *form.shown_version(),
                typed_name=form.full_name.data,
                client=client_info(),
            )
        except (services.StaleVersion, services.AlreadySigned) as error:
            return refusal_page(error, kind, again=url_for("agreements.user_read", slug=slug))
        except services.AgreementError as error:
            add_error(form, error.field, error.message)
        else:
            return redirect(url_for("agreements.user_signed", signature_id=signature.id))
    return render_form("agreements/sign.html", form, kind=kind, version=version, scope="user")


def own_signature_or_404(signature_id: int) -> UserSignature:
    signature = db.session.get(UserSignature, signature_id)
    if signature is None or signature.signer_id != current_user.id:
        abort(404)
    return signature


@bp.route("/yours/signed/<int:signature_id>")
@allow(Access.USER)
def user_signed(signature_id: int):
    signature = own_signature_or_404(signature_id)
    return render_template(
        "agreements/signed.html",
        signature=signature,
        version=signature.version,
        scope="user",
        all_signed=all(s.done for s in services.user_states(current_user)),
    )


@bp.route("/yours/signatures/<int:signature_id>/signed-copy.pdf")
@allow(Access.USER)
def user_signed_copy(signature_id: int):
    return signature_document(own_signature_or_404(signature_id), "signed-copy")


@bp.route("/yours/signatures/<int:signature_id>/certificate.pdf")
@allow(Access.USER)
def user_certificate(signature_id: int):
    return signature_document(own_signature_or_404(signature_id), "certificate")


@bp.route("/verify", methods=["GET", "POST"])
@allow(Access.PUBLIC)
def verify():
    form = forms.VerifyForm()
    result = None
    if form.validate_on_submit():
        file = form.file.data
        if file is None or not getattr(file, "filename", None):
            add_error(form, "file", "Select the PDF to check")
        else:
            result = verify_document(file.read())
    return render_form("agreements/verify.html", form, result=result)
