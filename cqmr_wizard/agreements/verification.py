"""Check a signed copy or a certificate of completion against the hashes kept at signing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from ..extensions import db
from ..models import AgreementUpload, Signature, UserSignature
from ..models.agreements import UPLOAD_REJECTED
from .documents import sha256_hex


@dataclass(frozen=True)
class Verification:
    sha256: str
    matched: bool
    what: str | None = None  # "signed copy", "certificate of completion", "returned signed copy"
    title: str | None = None
    version: str | None = None
    signed_by: str | None = None
    organization: str | None = None
    signed_at: datetime | None = None
    record: str | None = None

    @property
    def summary(self) -> str:
        if not self.matched:
            return (
                f"NOT VERIFIED: no document signed here has SHA-256 {self.sha256}. "
                "The file is not an original signed copy or certificate, or it was changed."
            )
        who = f" by {self.signed_by}" + (f" for {self.organization}" if self.organization else "")
        return (
            f"VERIFIED: this is the unaltered {self.what} of {self.title}, {self.version}, "
            f"signed{who} on {self.signed_at:%Y-%m-%d %H:%M:%S} UTC (record {self.record})."
        )


def verify_document(data: bytes) -> Verification:
    """Say whether the bytes are exactly a signed copy or certificate this service produced."""
    digest = sha256_hex(data)
    for model, prefix in ((Signature, "S"), (UserSignature, "U")):
        found = db.session.scalar(
            select(model)
            .where(or_(model.signed_copy_sha256 == digest, model.certificate_sha256 == digest))
            .limit(1)
        )
        if found is not None:
            what = "signed copy" if found.signed_copy_sha256 == digest else "certificate of completion"
            org = found.organization_name if isinstance(found, Signature) else None
            signed_by = found.typed_name + (f", {found.signer_title}" if isinstance(found, Signature) else "")
            return Verification(
                digest,
                True,
                what,
                found.version.title,
                found.version.display_version,
                signed_by,
                org,
                found.signed_at,
                f"{prefix}-{found.id}",
            )
    upload = db.session.scalar(
        select(AgreementUpload)
        .where(AgreementUpload.sha256 == digest, AgreementUpload.status != UPLOAD_REJECTED)
        .limit(1)
    )
    if upload is not None:
        return Verification(
            digest,
            True,
            f"returned signed copy ({upload.status})",
            upload.version.title,
            upload.version.display_version,
            upload.uploaded_by.full_name,
            upload.organization.legal_name,
            upload.uploaded_at,
            f"P-{upload.id}",
        )
    return Verification(digest, False)
