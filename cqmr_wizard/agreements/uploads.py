"""Agreements signed on paper: check and keep the scan, then a registry operator verifies or rejects it."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import audit, pdf_safety
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import send_mail
from ..models import AgreementUpload, Membership, User
from ..models.agreements import UPLOAD_PENDING, UPLOAD_REJECTED, UPLOAD_VERIFIED
from ..models.base import utcnow
from ..template_filters import when_text
from .documents import sha256_hex
from .evidence import ClientInfo
from .services import AgreementError, AlreadySigned, require_current, require_signer
from .signing import refuse_if_taken

log = logging.getLogger(__name__)


class UploadRefused(AgreementError):
    """The file is not an acceptable signed copy."""

    field = "file"


def max_upload_bytes() -> int:
    return int(current_app.config["AGREEMENT_UPLOAD_MAX_BYTES"])


def size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def check_pdf(data: bytes) -> int:
    """Refuse anything but a safe, readable PDF within the size limit; return its page count."""
    if len(data) > max_upload_bytes():
        raise UploadRefused(f"The file must be smaller than {size_text(max_upload_bytes())}", status=413)
    if data and not data.startswith(pdf_safety.PDF_MAGIC):
        raise UploadRefused("The selected file must be a PDF", status=415)
    try:
        return pdf_safety.check_pdf(data)
    except pdf_safety.UnsafePdf as refused:
        raise UploadRefused(refused.message) from None


def upload_directory() -> Path:
    path = Path(current_app.instance_path) / "uploads" / "agreements"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(upload: AgreementUpload) -> Path:
    """Where the scan is kept (under the random name it was given)."""
    return upload_directory() / upload.stored_name


def clean_filename(name: str | None) -> str:
    base = re.sub(r"[^A-Za-z0-9._ -]+", "_", Path(name or "").name).strip(" .")
    return (base or "signed-agreement.pdf")[:200]


def store_upload(
    user: User,
    membership: Membership | None,
    kind: str,
    version_id: int | None,
    content_sha256: str | None,
    filename: str | None,
    data: bytes,
    client: ClientInfo,
) -> AgreementUpload:
    """Keep a scan of the agreement signed on paper; it waits for a registry operator."""
    org = require_signer(user, membership)
    version = require_current(kind, version_id, content_sha256)
    pages = check_pdf(data)
    refuse_if_taken(org, version)
    stored = f"{secrets.token_hex(16)}.pdf"
    path = upload_directory() / stored
    path.write_bytes(data)
    upload = AgreementUpload(
        agreement_version_id=version.id,
        organization_id=org.id,
        uploaded_by_id=user.id,
        stored_name=stored,
        original_filename=clean_filename(filename),
        size=len(data),
        sha256=sha256_hex(data),
        status=UPLOAD_PENDING,
        ip_address=client.ip_address,
    )
    db.session.add(upload)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        path.unlink(missing_ok=True)
        raise AlreadySigned(f"A signed copy of the {version.title} is already with the registry") from None
    audit.record(
        AuditEventType.AGREEMENT_UPLOADED,
        actor_id=user.id,
        organization_id=org.id,
        subject_user_id=user.id,
        details={
            "kind": kind,
            "version_id": version.id,
            "upload_id": upload.id,
            "sha256": upload.sha256,
            "size": upload.size,
            "pages": pages,
            "original_filename": upload.original_filename,
        },
    )
    db.session.commit()
    return upload


def pending_uploads() -> list[AgreementUpload]:
    """Uploads waiting for a registry operator, oldest first."""
    return list(
        db.session.scalars(
            select(AgreementUpload)
            .where(AgreementUpload.status == UPLOAD_PENDING)
            .order_by(AgreementUpload.uploaded_at)
        )
    )


class AlreadyReviewed(AgreementError):
    """Another review of the signed copy came first (another operator, or an earlier click)."""

    status = 409


def already_reviewed(upload: AgreementUpload, operator: User | None) -> str:
    """Who reviewed the copy, and when, in words for the operator who came second."""
    reviewer = db.session.get(User, upload.reviewed_by_id) if upload.reviewed_by_id else None
    if reviewer is None:
        who = "It was"  # reviewed from the command line
    elif operator is not None and reviewer.id == operator.id:
        who = "You"
    else:
        who = f"Another registry operator, {reviewer.full_name},"
    when = f" on {when_text(upload.reviewed_at, time=True)}" if upload.reviewed_at else ""
    return f"{who} already {upload.status} this signed copy{when}. Nothing was changed."


def _review(upload: AgreementUpload, operator: User | None, status: str) -> None:
    """Mark the copy reviewed, unless a review came first (AlreadyReviewed, rolled back).

    A guarded UPDATE decides: on PostgreSQL a second one waits on the row lock of the first and
    then finds the row no longer pending; on SQLite the single write lock serialises them the
    same way. (A check before a SELECT … FOR UPDATE would not serialise SQLite.)"""
    claimed = db.session.execute(
        update(AgreementUpload)
        .where(AgreementUpload.id == upload.id, AgreementUpload.status == UPLOAD_PENDING)
        .values(status=status, reviewed_by_id=operator.id if operator else None, reviewed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(upload)
    if not claimed:
        message = already_reviewed(upload, operator)
        db.session.rollback()
        raise AlreadyReviewed(message)


def verify_upload(upload: AgreementUpload, operator: User | None) -> AgreementUpload:
    """A registry operator accepts the signed copy: the agreement counts as signed."""
    _review(upload, operator, UPLOAD_VERIFIED)
    audit.record(
        AuditEventType.AGREEMENT_UPLOAD_VERIFIED,
        actor_id=operator.id if operator else None,
        organization_id=upload.organization_id,
        subject_user_id=upload.uploaded_by_id,
        details={
            "upload_id": upload.id,
            "kind": upload.version.kind,
            "version_id": upload.agreement_version_id,
            "sha256": upload.sha256,
            "via": "console" if operator else "command line",
        },
    )
    _notify(upload, f"Signed copy accepted: {upload.version.title}", "agreement_upload_verified")
    db.session.commit()
    return upload


def reject_upload(upload: AgreementUpload, operator: User | None, reason: str) -> AgreementUpload:
    """A registry operator refuses the signed copy and tells the signer why."""
    reason = (reason or "").strip()
    if not reason:
        raise AgreementError("Give the reason the signed copy cannot be accepted", "reason")
    _review(upload, operator, UPLOAD_REJECTED)
    upload.rejection_reason = reason[:2000]
    audit.record(
        AuditEventType.AGREEMENT_UPLOAD_REJECTED,
        actor_id=operator.id if operator else None,
        organization_id=upload.organization_id,
        subject_user_id=upload.uploaded_by_id,
        details={
            "upload_id": upload.id,
            "kind": upload.version.kind,
            "version_id": upload.agreement_version_id,
            "reason": reason[:2000],
            "via": "console" if operator else "command line",
        },
    )
    _notify(upload, f"Signed copy not accepted: {upload.version.title}", "agreement_upload_rejected")
    db.session.commit()
    return upload


def _notify(upload: AgreementUpload, subject: str, template: str) -> None:
    send_mail(upload.uploaded_by.email, subject, template, upload=upload)
