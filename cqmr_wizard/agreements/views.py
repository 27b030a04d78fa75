"""Organization agreements: who signs, reading, signing with a fresh code, paper copies."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge

from ..access import Access, AccessRefused, allow, request_verdict
from ..errors import MESSAGES
from ..mfa import services as mfa_services
from ..refusals import Refusal
from ..request_limits import accepts_upload
from ..views import add_error, render_form
from . import bp, forms, services, signing, uploads
from .changes import new_versions
from .consent import active_consent
from .documents import BY_SLUG, AgreementKind
from .evidence import client_info
from .facts import agreement_facts


def organization_kind(slug: str) -> AgreementKind:
    kind = BY_SLUG.get(slug)
    if kind is None or kind.scope != "organization":
        abort(404)
    return kind


def team_url() -> str:
    return url_for("team.index")


def signer_context(org) -> dict:
    """Who may sign and who is designated, from one query."""
    signers = services.signers_of(org)
    return {"signers": signers, "designated": services.designated_signer(org, signers)}


def not_signer_page(message: str | None = None):
    """403: say who can sign for the organization, and how to change it."""
    org = g.membership.organization
    return render_template(
        "agreements/not_signer.html",
        message=message,
        **signer_context(org),
        is_admin=g.membership.has_role("admin"),
        team_url=team_url(),
    ), 403


@bp.errorhandler(Forbidden)
def forbidden(error: Forbidden):
    if isinstance(error, AccessRefused) and error.lacking == "signer":
        return not_signer_page()
    title, body = MESSAGES[403]
    return render_template("errors/error.html", code=403, title=title, body=body), 403


def refusal_page(error: services.AgreementError, kind: AgreementKind, **links: str):
    """The page for a refusal that is not a form error: who can sign, a newer version, already done."""
    if isinstance(error, services.NotSigner):
        return not_signer_page(error.message)
    return render_template("agreements/refused.html", error=error, kind=kind, **links), error.status


def signable(kind: AgreementKind):
    """The signer's organization and the current version of `kind` (or a refusal page)."""
    try:
        org = services.require_signer(current_user, g.membership)
    except services.NotSigner as error:
        return None, None, not_signer_page(error.message)
    version = services.current_version(kind.key)
    if version is None:
        abort(404)
    return org, version, None


@bp.route("/organization")
@allow(Access.MEMBER)
def organization():
    org = g.membership.organization
    signers = signer_context(org)
    designated = signers["designated"]
    facts, _ = agreement_facts([org.id], ())
    changed = new_versions(facts[org.id])
    return render_template(
        "agreements/organization.html",
        org=org,
        new_versions=changed,
        resigning={change.version.kind for change in changed},
        states=services.organization_states(org),
        **signers,
        is_admin=g.membership.has_role("admin"),
        can_sign=designated is not None and designated.id == current_user.id,
        team_url=team_url(),
        consent=active_consent(current_user.id),
    )


@bp.route("/organization/signer", methods=["GET", "POST"])
@allow(Access.ORG_ADMIN)
def designate():
    org = g.membership.organization
    signers = services.signers_of(org)
    form = forms.DesignateSignerForm(data={"signer": str(org.designated_signer_id or "")})
    form.signer.choices = [
        (str(u.id), f"{u.full_name} ({u.email})" + (" - you" if u.id == current_user.id else ""))
        for u in signers
    ]
    if signers and form.validate_on_submit():
        try:
            chosen = services.designate_signer(current_user, org, int(form.signer.data))
        except services.AgreementError as error:
            add_error(form, error.field, error.message)
        else:
            flash(f"{chosen.full_name} will sign the organization agreements.", "success")
            return redirect(url_for("agreements.organization"))
    return render_form("agreements/designate.html", form, signers=signers, team_url=team_url())


@bp.route("/organization/<slug>", methods=["GET", "POST"])
@allow(Access.SIGNER)
def read(slug: str):
    kind = organization_kind(slug)
    org, version, refused = signable(kind)
    if refused:
        return refused
    if active_consent(current_user.id) is None:
        return redirect(url_for("agreements.consent", next=request.path))
    form = forms.ReviewForm(data={"version_id": version.id, "content_sha256": version.content_sha256})
    if form.validate_on_submit():
        try:
            version = services.require_current(kind.key, *form.shown_version())
        except services.StaleVersion as error:
            return refusal_page(error, kind, again=url_for("agreements.read", slug=slug))
        services.record_review(current_user, version, client_info(), org.id)
        return redirect(url_for("agreements.sign", slug=slug))
    return render_form(
        "agreements/read.html",
        form,
        kind=kind,
        version=version,
        scope="organization",
        state=next(s for s in services.organization_states(org) if s.kind == kind.key),
    )


@bp.route("/organization/<slug>/sign", methods=["GET", "POST"])
@allow(Access.SIGNER)
def sign(slug: str):
    kind = organization_kind(slug)
    org, version, refused = signable(kind)
    if refused:
        return refused
    if request.method == "GET" and active_consent(current_user.id) is None:
        return redirect(url_for("agreements.consent", next=url_for("agreements.read", slug=slug)))
    if request.method == "GET" and services.latest_review(current_user.id, version.id) is None:
        return redirect(url_for("agreements.read", slug=slug))
    form = forms.OrganizationSignForm(
        data={"version_id": version.id, "content_sha256": version.content_sha256}
    )
    if form.validate_on_submit():
        try:
            signature = signing.sign_organization_agreement(
                current_user,
                g.membership,
                kind.key,
                *form.shown_version(),
                typed_name=form.full_name.data,
                title=form.title.data,
                code=form.code.data,
                client=client_info(),
                passkey=form.passkey_credential.data or None,
            )
        except (services.NotSigner, services.StaleVersion, services.AlreadySigned) as error:
            return refusal_page(error, kind, again=url_for("agreements.read", slug=slug))
        except Refusal as error:  # an agreement rule, or the second factor's
            add_error(form, error.field, error.message)
            if error.status != 400:
                return render_template(
                    "agreements/sign.html",
                    form=form,
                    kind=kind,
                    version=version,
                    scope="organization",
                    has_passkey=mfa_services.has_passkey(current_user.id),
                ), error.status
        else:
            return redirect(url_for("agreements.signed", signature_id=signature.id))
    form.code.data = form.passkey_credential.data = ""
    return render_form(
        "agreements/sign.html",
        form,
        kind=kind,
        version=version,
        scope="organization",
        has_passkey=mfa_services.has_passkey(current_user.id),
    )


@bp.route("/organization/<slug>/decline", methods=["GET", "POST"])
@allow(Access.SIGNER)
def decline(slug: str):
    kind = organization_kind(slug)
    org, version, refused = signable(kind)
    if refused:
        return refused
    form = forms.DeclineForm(data={"version_id": version.id, "content_sha256": version.content_sha256})
    if form.validate_on_submit():
        services.decline(current_user, version, org.id, (form.reason.data or "").strip() or None)
        flash(f"You chose not to sign the {version.title}. It stays unsigned; you can sign it later.", "info")
        return redirect(url_for("agreements.organization"))
    return render_form("agreements/decline.html", form, kind=kind, version=version)


@bp.route("/organization/<slug>/upload", methods=["GET", "POST"])
@allow(Access.SIGNER)
@accepts_upload(lambda: uploads.max_upload_bytes() + 64 * 1024)
def upload(slug: str):
    kind = organization_kind(slug)
    org, version, refused = signable(kind)
    if refused:
        return refused
    form = forms.UploadForm(data={"version_id": version.id, "content_sha256": version.content_sha256})
    status = 400
    if form.validate_on_submit():
        file = form.file.data
        if file is None or not getattr(file, "filename", None):
            add_error(form, "file", "Select the signed agreement to upload")
        else:
            try:
                uploads.store_upload(
                    current_user,
                    g.membership,
                    kind.key,
                    *form.shown_version(),
                    filename=file.filename,
                    data=file.read(),
                    client=client_info(),
                )
            except (services.NotSigner, services.StaleVersion, services.AlreadySigned) as error:
                return refusal_page(error, kind, again=url_for("agreements.upload", slug=slug))
            except uploads.UploadRefused as error:
                add_error(form, "file", error.message)
                status = error.status
            else:
                flash(
                    f"Your signed copy of the {version.title} was uploaded. The registry will "
                    "check it and tell you by email.",
                    "success",
                )
                return redirect(url_for("agreements.organization"))
    return upload_page(form, kind, version, status if form.errors else 200)


def upload_page(form: forms.UploadForm, kind: AgreementKind, version, status: int):
    """The upload page, with the size limit it states."""
    limit = uploads.size_text(uploads.max_upload_bytes())
    return render_template(
        "agreements/upload.html", form=form, kind=kind, version=version, limit=limit
    ), status


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    """A body over the limit is refused before it is read; the upload page says how large it may be."""
    # CSRF protection read the body before access was enforced: decide here.
    if request.endpoint != "agreements.upload" or request_verdict() != "allow":
        title, body = MESSAGES[413]
        return render_template("errors/error.html", code=413, title=title, body=body), 413
    kind = organization_kind(request.view_args["slug"])
    _, version, refused = signable(kind)
    if refused:
        return refused
    form = forms.UploadForm(
        formdata=None, data={"version_id": version.id, "content_sha256": version.content_sha256}
    )
    add_error(form, "file", f"The file must be smaller than {uploads.size_text(uploads.max_upload_bytes())}")
    return upload_page(form, kind, version, 413)
