"""Each organization agreement's version signed, version in force and date to sign by, and an
operator moving one organization's date (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select, union_all

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AgreementExtension, AgreementUpload, AgreementVersion, Organization, Signature, User
from ..models.agreements import UPLOAD_VERIFIED
from ..models.base import utcnow
from ..template_filters import PACIFIC
from .documents import KINDS, ORGANIZATION_KINDS, latest_versions
from .facts import agreement_facts
from .standing import AgreementFact


class ExtensionError(ValueError):
    """A date that cannot be moved, with the sentence that says why and the field it concerns."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def end_of_day(day: date) -> datetime:
    """The last second of `day` in Oregon, in UTC: "sign by March 1" includes March 1."""
    return datetime.combine(day, time(23, 59, 59), PACIFIC).astimezone(UTC)


@dataclass(frozen=True)
class AgreementRow:
    """One organization agreement as the operator's page lists it."""

    kind: str
    current: AgreementVersion | None
    signed_number: int | None  # the newest version signed (or returned on paper and verified)
    fact: AgreementFact

    @property
    def title(self) -> str:
        return self.current.title if self.current else KINDS[self.kind].title

    @property
    def in_force_number(self) -> int | None:
        """The version whose signature keeps the agreement in force, if any."""
        if self.fact.signed and self.current is not None:
            return self.current.version_number
        return self.signed_number if self.fact.in_force else None

    @property
    def extendable(self) -> bool:
        return self.fact.stale and self.fact.sign_by is not None


def signed_numbers(organization_id: int) -> dict[str, int]:
    """The newest version number of each kind the organization signed or returned (one query)."""
    signed = (
        select(AgreementVersion.kind, AgreementVersion.version_number)
        .join(Signature, Signature.agreement_version_id == AgreementVersion.id)
        .where(Signature.organization_id == organization_id)
    )
    returned = (
        select(AgreementVersion.kind, AgreementVersion.version_number)
        .join(AgreementUpload, AgreementUpload.agreement_version_id == AgreementVersion.id)
        .where(AgreementUpload.organization_id == organization_id, AgreementUpload.status == UPLOAD_VERIFIED)
    )
    both = union_all(signed, returned).subquery()
    return dict(
        db.session.execute(select(both.c.kind, func.max(both.c.version_number)).group_by(both.c.kind)).all()
    )


def agreement_rows(organization_id: int) -> list[AgreementRow]:
    """Each organization agreement: its current version, the version signed and in force, and
    the date to sign the current one by (a fixed number of queries)."""
    facts, _ = agreement_facts([organization_id], ())
    current = latest_versions(ORGANIZATION_KINDS)
    numbers = signed_numbers(organization_id)
    return [
        AgreementRow(fact.kind, current.get(fact.kind), numbers.get(fact.kind), fact)
        for fact in facts[organization_id]
    ]


def extend_sign_by(
    operator: User, org: Organization, kind: str, sign_by: datetime, reason: str
) -> AgreementExtension:
    """Move the date by which this organization must sign the current version of `kind`."""
    reason = reason.strip()
    if not reason:
        raise ExtensionError("Enter the reason for the new date", "reason")
    if sign_by <= utcnow():
        raise ExtensionError("Enter a date in the future", "sign_by")
    row = next((r for r in agreement_rows(org.id) if r.kind == kind), None)
    if row is None or row.current is None or not row.extendable:
        raise ExtensionError("This organization has no new version of this agreement to sign")
    extension = AgreementExtension(
        organization_id=org.id,
        agreement_version_id=row.current.id,
        sign_by=sign_by,
        reason=reason[:500],
        extended_by_id=operator.id,
    )
    db.session.add(extension)
    audit.record(
        AuditEventType.AGREEMENT_SIGN_BY_EXTENDED,
        actor_id=operator.id,
        organization_id=org.id,
        details={
            "kind": kind,
            "version_id": row.current.id,
            "previous_sign_by": row.fact.sign_by.isoformat() if row.fact.sign_by else None,
            "sign_by": sign_by.isoformat(),
            "reason": extension.reason,
        },
    )
    db.session.commit()
    return extension
