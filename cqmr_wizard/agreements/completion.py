"""The documents of a completed signature: the signed copy and the certificate of completion
(PDFs whose SHA-256 are kept), their file names, and mailing them to the signer."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..mail import send_mail
from ..models import AgreementReview, AgreementVersion, ElectronicConsent, Signature
from ..views import pdf_download
from . import pdf
from .consent import disclosure
from .documents import sha256_hex
from .pdf import AnySignature


def step_up_text(signature: Signature) -> str:
    """The second factor given at signing, in words."""
    if signature.passkey_id is not None:
        return f"a fresh passkey with user verification (passkey {signature.passkey_id})"
    return f"a fresh TOTP code (time step {signature.totp_step})"


def attach_documents(signature: AnySignature, version: AgreementVersion, consent: ElectronicConsent) -> None:
    """Produce the signed copy and the certificate and keep them with their SHA-256."""
    signature.signed_copy_pdf = pdf.signed_copy_pdf(signature, version)
    signature.signed_copy_sha256 = sha256_hex(signature.signed_copy_pdf)
    signature.certificate_pdf = pdf.certificate_pdf(
        signature,
        version,
        certificate_events(signature, consent),
        consent.disclosure_version,
        consent.disclosure_sha256,
    )
    signature.certificate_sha256 = sha256_hex(signature.certificate_pdf)


def signature_document(signature: AnySignature, document: str):
    """Download the signature's "signed-copy" or "certificate" under its usual file name."""
    copy_name, certificate_name = attachment_names(signature, signature.version)
    if document == "certificate":
        return pdf_download(signature.certificate_pdf, certificate_name)
    return pdf_download(signature.signed_copy_pdf, copy_name)


def certificate_events(signature: AnySignature, consent: ElectronicConsent) -> list[pdf.CertificateEvent]:
    """Every recorded step from consent to signature, oldest first."""
    current = disclosure()
    events = [
        pdf.CertificateEvent(
            consent.consented_at,
            "Consented to electronic records and signatures",
            f"Disclosure version {consent.disclosure_version}"
            f"{'' if consent.disclosure_version == current.version else ' (earlier)'}; "
            f"IP {consent.ip_address or '-'}; user agent {consent.user_agent or '-'}",
        )
    ]
    reviews = db.session.scalars(
        select(AgreementReview)
        .where(
            AgreementReview.user_id == signature.signer_id,
            AgreementReview.agreement_version_id == signature.agreement_version_id,
        )
        .order_by(AgreementReview.viewed_at, AgreementReview.id)
    ).all()
    events += [
        pdf.CertificateEvent(
            r.viewed_at,
            "Reviewed the full text and chose to sign",
            f"IP {r.ip_address or '-'}; user agent {r.user_agent or '-'}",
        )
        for r in reviews
    ]
    how = (
        f'typed name "{signature.typed_name}"'
        + (f', title "{signature.signer_title}"' if isinstance(signature, Signature) else "")
        + ', ticked "I agree to sign"'
    )
    if isinstance(signature, Signature):
        how += f", confirmed with {step_up_text(signature)}"
    events.append(
        pdf.CertificateEvent(
            signature.signed_at, "Signed electronically", f"{how}; IP {signature.ip_address or '-'}"
        )
    )
    events.append(
        pdf.CertificateEvent(
            signature.signed_at, "Signed copy produced", f"SHA-256 {signature.signed_copy_sha256}"
        )
    )
    return sorted(events, key=lambda e: e.at)


def attachment_names(signature: AnySignature, version: AgreementVersion) -> tuple[str, str]:
    base = f"{version.kind}-v{version.version_number}-{'S' if isinstance(signature, Signature) else 'U'}{signature.id}"
    return f"{base}-signed.pdf", f"{base}-certificate.pdf"


def send_signed_copies(signature: AnySignature, version: AgreementVersion) -> None:
    """Mail the signed copy and the certificate to the signer, through the outbox."""
    copy_name, certificate_name = attachment_names(signature, version)
    send_mail(
        signature.signer_email,
        f"Your signed copy: {version.title}",
        "agreement_signed",
        signature=signature,
        version=version,
        attachments=[
            (copy_name, signature.signed_copy_pdf, "application/pdf"),
            (certificate_name, signature.certificate_pdf, "application/pdf"),
        ],
    )
