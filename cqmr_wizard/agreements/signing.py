"""Electronic signing: check every condition, claim the fresh TOTP step, keep one signature per
agreement version, produce the signed copy and the certificate, and mail them to the signer."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mfa import guard, passkeys
from ..mfa import services as mfa
from ..models import (
    AgreementReview,
    AgreementUpload,
    AgreementVersion,
    ElectronicConsent,
    Membership,
    Organization,
    Signature,
    User,
    UserSignature,
)
from ..models.agreements import UPLOAD_REJECTED
from ..models.base import utcnow
from . import pdf
from .completion import attach_documents, send_signed_copies
from .consent import active_consent
from .evidence import ClientInfo
from .services import (
    AlreadySigned,
    ConsentRequired,
    NotReviewed,
    latest_review,
    require_current,
    require_signer,
)

log = logging.getLogger(__name__)


def ready_to_sign(user: User, version: AgreementVersion) -> tuple[ElectronicConsent, AgreementReview]:
    """The signer's live consent and review of `version`; raise if either is missing."""
    consent = active_consent(user.id)
    if consent is None:
        raise ConsentRequired("Give your consent to use electronic records and signatures before you sign")
    review = latest_review(user.id, version.id)
    if review is None:
        raise NotReviewed("Read the whole agreement and select Continue before you sign")
    return consent, review


def organization_signature(org_id: int, version_id: int) -> Signature | None:
    return db.session.scalar(
        select(Signature).where(
            Signature.organization_id == org_id, Signature.agreement_version_id == version_id
        )
    )


def refuse_if_taken(org: Organization, version: AgreementVersion) -> None:
    """Refuse (409) when the version is already signed, or a signed copy is with the registry."""
    if organization_signature(org.id, version.id) is not None:
        raise AlreadySigned(
            f"The {version.title} ({version.display_version}) has already been signed for your organization"
        )
    upload = db.session.scalar(
        select(AgreementUpload).where(
            AgreementUpload.organization_id == org.id,
            AgreementUpload.agreement_version_id == version.id,
            AgreementUpload.status != UPLOAD_REJECTED,
        )
    )
    if upload is not None:
        raise AlreadySigned(
            f"A signed copy of the {version.title} was uploaded for your "
            "organization and is with the registry"
        )


def check_step_up(user: User, code: str, passkey: str | None = None) -> dict[str, int]:
    """Check a fresh TOTP code (claiming its time step) or a fresh passkey assertion in this
    transaction; return the evidence: {"totp_step": …} or {"passkey_id": …}."""
    # The MFA service checks throttling, the code and the once-only step (or the passkey's
    # single-use challenge and counter) under the account's lock, and leaves the commit to us,
    # so the step and the signature land together. Its refusal (MfaError) is the signing page's.
    if passkey:
        return {"passkey_id": passkeys.authenticate(user, passkey, "sign_agreement").id}
    _, match = mfa.check_code(user, code, "sign_agreement")
    return {"totp_step": match.step}


def sign_organization_agreement(
    user: User,
    membership: Membership | None,
    kind: str,
    version_id: int | None,
    content_sha256: str | None,
    typed_name: str,
    title: str,
    code: str,
    client: ClientInfo,
    passkey: str | None = None,
) -> Signature:
    """Sign an organization agreement electronically, with a fresh second factor: an app code,
    or a passkey ceremony's result (`passkey`)."""
    org = require_signer(user, membership)
    version = require_current(kind, version_id, content_sha256)
    consent, review = ready_to_sign(user, version)
    refuse_if_taken(org, version)
    # Take the account's second-factor lock first: a double click waits here, then finds the
    # signature its twin made, instead of reading as a replayed code.
    guard.lock_state(user.id, utcnow())
    try:
        refuse_if_taken(org, version)
    except AlreadySigned:
        db.session.rollback()
        raise
    step_up = check_step_up(user, code, passkey)
    return record_signature(user, membership, version, consent, review, typed_name, title, step_up, client)


def _evidence(
    user: User,
    membership: Membership | None,
    version: AgreementVersion,
    consent: ElectronicConsent,
    review: AgreementReview,
    typed_name: str,
    client: ClientInfo,
) -> dict:
    """The evidence every signature records, organization or user; documents come later."""
    return {
        "agreement_version_id": version.id,
        "content_sha256": version.content_sha256,
        "signer_id": user.id,
        "signer_email": user.email,
        "signer_roles": ",".join(sorted(membership.roles)) if membership else "",
        "typed_name": typed_name,
        "consent_id": consent.id,
        "viewed_at": review.viewed_at,
        "consented_at": consent.consented_at,
        "signed_at": utcnow(),
        "ip_address": client.ip_address,
        "user_agent": client.user_agent,
        "session_hash": client.session_hash,
        "signed_copy_sha256": "",
        "certificate_sha256": "",
        "signed_copy_pdf": b"",
        "certificate_pdf": b"",
    }


def record_signature(
    user: User,
    membership: Membership,
    version: AgreementVersion,
    consent: ElectronicConsent,
    review: AgreementReview,
    typed_name: str,
    title: str,
    step_up: dict[str, int],
    client: ClientInfo,
) -> Signature:
    """Insert the signature; the unique constraint lets exactly one of racing requests win."""
    org = membership.organization
    signature = Signature(
        **_evidence(user, membership, version, consent, review, typed_name, client),
        organization_id=org.id,
        organization_name=org.legal_name or f"Organization {org.id}",
        signer_title=title,
        **step_up,
    )
    return _finish(signature, version, consent, org.id, {"signer_title": title, **step_up})


def sign_user_agreement(
    user: User,
    membership: Membership | None,
    kind: str,
    version_id: int | None,
    content_sha256: str | None,
    typed_name: str,
    client: ClientInfo,
) -> UserSignature:
    """Click-sign one of the person's own user agreements."""
    version = require_current(kind, version_id, content_sha256)
    consent, review = ready_to_sign(user, version)
    signature = UserSignature(
        **_evidence(user, membership, version, consent, review, typed_name, client),
        organization_id=membership.organization_id if membership else None,
    )
    return _finish(signature, version, consent, signature.organization_id, {})


def _finish(
    signature: pdf.AnySignature,
    version: AgreementVersion,
    consent: ElectronicConsent,
    organization_id: int | None,
    extra: dict,
) -> pdf.AnySignature:
    db.session.add(signature)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise AlreadySigned(
            f"The {version.title} ({version.display_version}) has already been signed"
        ) from None
    attach_documents(signature, version, consent)
    audit.record(
        AuditEventType.AGREEMENT_SIGNED,
        actor_id=signature.signer_id,
        organization_id=organization_id,
        subject_user_id=signature.signer_id,
        details={
            "kind": version.kind,
            "scope": "organization" if isinstance(signature, Signature) else "user",
            "signature_id": signature.id,
            "version_id": version.id,
            "content_sha256": signature.content_sha256,
            "typed_name": signature.typed_name,
            "roles": signature.signer_roles,
            "consent_id": consent.id,
            "session_hash": signature.session_hash,
            "signed_copy_sha256": signature.signed_copy_sha256,
            "certificate_sha256": signature.certificate_sha256,
            **extra,
        },
    )
    send_signed_copies(signature, version)
    db.session.commit()
    return signature
