"""Agreement rules: who signs, which version is current, reviews, declines and each agreement's state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..members import active_members_with_role
from ..models import (
    AgreementReview,
    AgreementUpload,
    AgreementVersion,
    Membership,
    Organization,
    Signature,
    User,
    UserSignature,
)
from ..models.agreements import UPLOAD_REJECTED, UPLOAD_VERIFIED
from ..refusals import Refusal
from .documents import KINDS, ORGANIZATION_KINDS, USER_KINDS, latest_versions
from .evidence import ClientInfo
from .standing import AgreementFact, standing


class AgreementError(Refusal):
    """An agreement rule refused the request; each kind below answers its own status."""


class NotSigner(AgreementError):
    status = 403


class StaleVersion(AgreementError):
    status = 409


class AlreadySigned(AgreementError):
    status = 409


class ConsentRequired(AgreementError):
    """Consent to electronic records must be given (again) before signing."""


class NotReviewed(AgreementError):
    """The full text has not been reviewed before signing."""


# --- who signs -----------------------------------------------------------------------------


def signers_of(org: Organization) -> list[User]:
    """The organization's members who hold the Authorized signer role."""
    return active_members_with_role(org.id, "signer")


def designated_signer(org: Organization, signers: list[User] | None = None) -> User | None:
    """The designated signer, if they still hold the signer role (among `signers`, when the
    caller already has them). When exactly one member holds the role and no other holder was
    chosen, that member is the designated signer: there is no one else to choose."""
    candidates = signers if signers is not None else signers_of(org)
    chosen = next((u for u in candidates if u.id == org.designated_signer_id), None)
    if chosen is None and len(candidates) == 1:
        return candidates[0]
    return chosen


def designate_signer(admin: User, org: Organization, signer_id: int) -> User:
    """The administrator chooses who signs; only a member holding the signer role can be chosen."""
    chosen = next((u for u in signers_of(org) if u.id == signer_id), None)
    if chosen is None:
        raise AgreementError("Select a member who holds the Authorized signer role", "signer")
    if org.designated_signer_id != chosen.id:
        previous = org.designated_signer_id
        org.designated_signer_id = chosen.id
        audit.record(
            AuditEventType.AGREEMENT_SIGNER_DESIGNATED,
            actor_id=admin.id,
            organization_id=org.id,
            subject_user_id=chosen.id,
            details={"previous_signer_id": previous},
        )
        db.session.commit()
    return chosen


def require_signer(user: User, membership: Membership | None) -> Organization:
    """The organization this user may sign for; NotSigner explains who can otherwise."""
    if membership is None or not membership.has_role("signer"):
        raise NotSigner("Only your organization's authorized signer can sign its agreements")
    org = membership.organization
    designated = designated_signer(org)
    if designated is None or designated.id != user.id:
        raise NotSigner(
            "Your organization's administrator has chosen someone else to sign, "
            "or has not chosen who signs yet"
        )
    return org


# --- versions and reviews ------------------------------------------------------------------


def current_version(kind: str) -> AgreementVersion | None:
    return latest_versions((kind,)).get(kind)


def require_current(kind: str, version_id: int | None, content_sha256: str | None) -> AgreementVersion:
    """The version being signed, refused (409) unless it is still the current text of `kind`."""
    current = current_version(kind)
    if current is None:
        raise StaleVersion("This agreement has not been published yet")
    if version_id != current.id or content_sha256 != current.content_sha256:
        raise StaleVersion(
            f"A new version of the {current.title} was published while you were reading it. "
            "Read the new version before signing"
        )
    return current


def record_review(
    user: User, version: AgreementVersion, client: ClientInfo, organization_id: int | None
) -> AgreementReview:
    """Record that the person reviewed the full text and went on to sign."""
    review = AgreementReview(
        agreement_version_id=version.id,
        user_id=user.id,
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    db.session.add(review)
    db.session.flush()
    audit.record(
        AuditEventType.AGREEMENT_VIEWED,
        actor_id=user.id,
        subject_user_id=user.id,
        organization_id=organization_id,
        details={
            "kind": version.kind,
            "version_id": version.id,
            "content_sha256": version.content_sha256,
            "review_id": review.id,
        },
    )
    db.session.commit()
    return review


def latest_review(user_id: int, version_id: int) -> AgreementReview | None:
    return db.session.scalar(
        select(AgreementReview)
        .where(AgreementReview.user_id == user_id, AgreementReview.agreement_version_id == version_id)
        .order_by(AgreementReview.id.desc())
        .limit(1)
    )


def decline(user: User, version: AgreementVersion, organization_id: int | None, reason: str | None) -> None:
    """Record that the person chose not to sign (nothing else changes)."""
    audit.record(
        AuditEventType.AGREEMENT_DECLINED,
        actor_id=user.id,
        subject_user_id=user.id,
        organization_id=organization_id,
        details={"kind": version.kind, "version_id": version.id, "reason": reason},
    )
    db.session.commit()


# --- where each agreement stands -------------------------------------------------------------


@dataclass
class AgreementState:
    kind: str
    title: str
    version: AgreementVersion | None
    signature: Signature | UserSignature | None = None  # of the current version
    stale_signature: Signature | UserSignature | None = None  # of an earlier version
    upload: AgreementUpload | None = None  # of the current version, newest first
    stale_upload: AgreementUpload | None = None

    @property
    def slug(self) -> str:
        return KINDS[self.kind].slug

    @property
    def fact(self) -> AgreementFact:
        """Where it stands, by the same rule the task list uses."""
        signed = [s.agreement_version_id for s in (self.signature, self.stale_signature) if s is not None]
        uploads = [
            (u.agreement_version_id, u.status) for u in (self.upload, self.stale_upload) if u is not None
        ]
        return standing(self.kind, self.version.id if self.version else None, signed, uploads)

    @property
    def done(self) -> bool:
        return self.fact.signed

    @property
    def waiting(self) -> bool:
        return self.fact.waiting

    @property
    def rejected(self) -> bool:
        return self.upload is not None and self.upload.status == UPLOAD_REJECTED


def _states(kinds: tuple[str, ...], signatures, uploads=()) -> list[AgreementState]:
    versions = latest_versions(kinds)
    states = []
    for kind in kinds:
        version = versions.get(kind)
        state = AgreementState(kind, version.title if version else KINDS[kind].title, version)
        for sig in signatures:  # newest first
            if sig.version.kind != kind:
                continue
            if version is not None and sig.agreement_version_id == version.id:
                state.signature = sig
            elif state.stale_signature is None:
                state.stale_signature = sig
        for upload in uploads:
            if upload.version.kind != kind:
                continue
            if version is not None and upload.agreement_version_id == version.id:
                state.upload = state.upload or upload
            elif upload.status == UPLOAD_VERIFIED and state.stale_upload is None:
                state.stale_upload = upload
        states.append(state)
    return states


def organization_states(org: Organization) -> list[AgreementState]:
    """Each organization agreement's current version and how far the organization is with it."""
    signatures = db.session.scalars(
        select(Signature)
        .where(Signature.organization_id == org.id)
        .order_by(Signature.signed_at.desc(), Signature.id.desc())
    ).all()
    uploads = db.session.scalars(
        select(AgreementUpload)
        .where(AgreementUpload.organization_id == org.id)
        .order_by(AgreementUpload.uploaded_at.desc(), AgreementUpload.id.desc())
    ).all()
    return _states(ORGANIZATION_KINDS, signatures, uploads)


def user_states(user: User) -> list[AgreementState]:
    """Each user agreement's current version and whether this person has signed it."""
    signatures = db.session.scalars(
        select(UserSignature)
        .where(UserSignature.signer_id == user.id)
        .order_by(UserSignature.signed_at.desc(), UserSignature.id.desc())
    ).all()
    return _states(USER_KINDS, signatures)
