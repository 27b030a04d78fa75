"""Downloads: the agreement texts as PDF, and an organization's signed copies and certificates."""

from __future__ import annotations

from flask import abort, g, render_template

from ..access import Access, allow
from ..extensions import db
from ..models import Signature
from ..views import pdf_download
from . import bp, services
from .completion import signature_document
from .documents import BY_SLUG
from .pdf import agreement_pdf


@bp.route("/organization/signed/<int:signature_id>")
@allow(Access.MEMBER)
def signed(signature_id: int):
    signature = organization_signature_or_404(signature_id)
    states = services.organization_states(g.membership.organization)
    return render_template(
        "agreements/signed.html",
        signature=signature,
        version=signature.version,
        scope="organization",
        all_signed=all(s.done or s.waiting for s in states),
    )


def organization_signature_or_404(signature_id: int) -> Signature:
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.organization_id != g.membership.organization_id:
        abort(404)
    return signature


@bp.route("/organization/signatures/<int:signature_id>/signed-copy.pdf")
@allow(Access.MEMBER)
def signed_copy(signature_id: int):
    return signature_document(organization_signature_or_404(signature_id), "signed-copy")


@bp.route("/organization/signatures/<int:signature_id>/certificate.pdf")
@allow(Access.MEMBER)
def certificate(signature_id: int):
    return signature_document(organization_signature_or_404(signature_id), "certificate")


@bp.route("/<slug>.pdf")
@allow(Access.USER)
def agreement_download(slug: str):
    """The current text as a PDF, to read, keep, or sign on paper."""
    kind = BY_SLUG.get(slug)
    version = services.current_version(kind.key) if kind else None
    if version is None:
        abort(404)
    org_name = None
    if kind.scope == "organization":
        membership = g.membership
        org_name = (membership.organization.legal_name if membership else None) or "your organization"
    return pdf_download(agreement_pdf(version, org_name), f"{kind.key}-v{version.version_number}.pdf")
