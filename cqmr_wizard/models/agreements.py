"""Agreement texts, consent to electronic records, signatures and returned paper copies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class AgreementVersion(db.Model):
    """One published text of an agreement; never changed once published."""

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("kind", "version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    version_number: Mapped[int] = mapped_column()
    version_label: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # the Markdown source
    content_html: Mapped[str] = mapped_column(Text)  # exactly what the page shows
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Until then a signature of the previous version keeps the agreement in force for a live
    # organization (or a person); None: in force at once ("sign by: now", an urgent change).
    sign_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    change_summary: Mapped[str | None] = mapped_column(Text)  # what changed, in the operator's words

    @property
    def display_version(self) -> str:
        return f"Version {self.version_number} ({self.version_label})"


class AgreementExtension(db.Model):
    """An operator moving one organization's date to sign a new version; the newest one counts."""

    __tablename__ = "agreement_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    agreement_version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id"))
    sign_by: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    extended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    extended_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ElectronicConsent(db.Model):
    """A person's consent to do business electronically, given after reading a disclosure."""

    __tablename__ = "electronic_consent"
    # At most one consent in force per person.
    __table_args__ = (
        Index(
            "uq_electronic_consent_active",
            "user_id",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    disclosure_version: Mapped[str] = mapped_column(String(32))
    disclosure_sha256: Mapped[str] = mapped_column(String(64))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_ip_address: Mapped[str | None] = mapped_column(String(64))
    withdrawn_user_agent: Mapped[str | None] = mapped_column(String(512))


class AgreementReview(db.Model):
    """A person confirming they reviewed the full text of one agreement version."""

    __tablename__ = "agreement_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class SignatureEvidence:
    """The evidence every electronic signature keeps (ESIGN Act / UETA)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id"))
    # SHA-256 of exactly the content that was shown and signed.
    content_sha256: Mapped[str] = mapped_column(String(64))
    signer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    signer_email: Mapped[str] = mapped_column(String(254))
    signer_roles: Mapped[str] = mapped_column(String(200), default="")
    typed_name: Mapped[str] = mapped_column(String(200))
    consent_id: Mapped[int] = mapped_column(ForeignKey("electronic_consent.id"))
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    session_hash: Mapped[str | None] = mapped_column(String(64))
    signed_copy_sha256: Mapped[str] = mapped_column(String(64), index=True)
    certificate_sha256: Mapped[str] = mapped_column(String(64), index=True)
    signed_copy_pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    certificate_pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class Signature(SignatureEvidence, db.Model):
    """An organization agreement signed electronically by the organization's authorized signer."""

    __tablename__ = "signature"
    # Exactly one signature per agreement version per organization, however many requests race.
    __table_args__ = (UniqueConstraint("agreement_version_id", "organization_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    organization_name: Mapped[str] = mapped_column(String(200))
    signer_title: Mapped[str] = mapped_column(String(200))
    # The second factor given at signing: a TOTP time step, or a passkey (its id; the evidence
    # outlives the passkey, so no foreign key).
    totp_step: Mapped[int | None] = mapped_column(BigInteger)
    passkey_id: Mapped[int | None] = mapped_column()

    version: Mapped[AgreementVersion] = relationship()
    consent: Mapped[ElectronicConsent] = relationship()
    signer = relationship("User", foreign_keys="Signature.signer_id")


class UserSignature(SignatureEvidence, db.Model):
    """A user agreement click-signed by one user for themself."""

    __tablename__ = "user_signature"
    __table_args__ = (UniqueConstraint("agreement_version_id", "signer_id"),)

    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id"))

    version: Mapped[AgreementVersion] = relationship()
    consent: Mapped[ElectronicConsent] = relationship()
    signer = relationship("User", foreign_keys="UserSignature.signer_id")


UPLOAD_PENDING = "pending"
UPLOAD_VERIFIED = "verified"
UPLOAD_REJECTED = "rejected"


class AgreementUpload(db.Model):
    """A scan of an agreement signed on paper, waiting for a registry operator to check it."""

    __tablename__ = "agreement_upload"
    # One upload under review or accepted per agreement version per organization.
    __table_args__ = (
        Index(
            "uq_agreement_upload_open",
            "agreement_version_id",
            "organization_id",
            unique=True,
            sqlite_where=text("status != 'rejected'"),
            postgresql_where=text("status != 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_version_id: Mapped[int] = mapped_column(ForeignKey("agreement_version.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=UPLOAD_PENDING)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    version: Mapped[AgreementVersion] = relationship()
    organization = relationship("Organization")
    uploaded_by = relationship("User", foreign_keys="AgreementUpload.uploaded_by_id")
