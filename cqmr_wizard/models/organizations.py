"""Organizations being onboarded, and who belongs to them with which roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

ELIGIBILITY_CHOICES = {
    "covered_entity": "HIPAA covered entity",
    "business_associate": "Business associate of a HIPAA covered entity",
}

ORGANIZATION_TYPES = {
    "hospital": "Hospital or health system",
    "clinic": "Clinic or physician practice",
    "fqhc": "Federally qualified health center",
    "health_plan": "Health plan",
    "cco": "Coordinated care organization (CCO)",
    "clearinghouse": "Health care clearinghouse",
    "vendor": "Health IT vendor or other business associate",
    "other": "Other",
}

ROLES = {
    "admin": ("Organization administrator", "Manages the team and onboarding."),
    "signer": ("Authorized signer", "May sign the organization agreements."),
    "submitter": ("Data submitter", "Submits quality data to the CQMR."),
    "viewer": ("Report viewer", "Views reports."),
}


class Organization(db.Model):
    """An organization's onboarding record; every answer is stored as it is given."""

    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    eligibility: Mapped[str] = mapped_column(String(32))
    legal_name: Mapped[str | None] = mapped_column(String(200))
    organization_type: Mapped[str | None] = mapped_column(String(32))
    tax_id: Mapped[str | None] = mapped_column(String(10), index=True)
    npi: Mapped[str | None] = mapped_column(String(10))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(32))  # "(503) 555-0100 x123456" is 22
    details_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The organization's identity in OneHealthPort; one onboarding record per OneHealthPort org.
    ohp_org_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    ohp_org_name: Mapped[str | None] = mapped_column(String(200))
    ohp_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by a registry operator; a suspended organization cannot go to the CQMR.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    suspension_reason: Mapped[str | None] = mapped_column(String(500))
    # The first time every required organization task was completed: from then on the gate asks
    # only what a live organization must keep true (tasks/gate_rule.py). Set once, never cleared.
    went_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Participation ended by a registry operator (offboarding): every member is deprovisioned and
    # refused; everything is kept. An administrator may ask for it; an operator confirms.
    offboarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offboarding_reason: Mapped[str | None] = mapped_column(String(500))
    offboarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    offboarding_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offboarding_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    offboarding_request_reason: Mapped[str | None] = mapped_column(String(500))
    # Members must sign in with a passkey, set by an administrator: from this time plus
    # ORG_PASSKEY_GRACE a member who does not is sent to add one (access.py).
    passkeys_required_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Who signs the organization agreements, chosen by the administrator.
    designated_signer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organization")

    def __repr__(self) -> str:
        return f"<Organization {self.id}>"

    def offboarding_request(self) -> dict[str, object]:
        """The administrator's request to end participation, as the audit trail records it."""
        return {
            "requested_by_id": self.offboarding_requested_by_id,
            "requested_at": self.offboarding_requested_at,
            "request_reason": self.offboarding_request_reason,
        }

    def clear_offboarding_request(self) -> dict[str, object]:
        """Take the request away (answered, declined or withdrawn); return what it was."""
        request = self.offboarding_request()
        self.offboarding_requested_at = self.offboarding_requested_by_id = self.offboarding_request_reason = (
            None
        )
        return request


class Membership(db.Model):
    """A user's place in an organization (one organization per user for now)."""

    __tablename__ = "membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="memberships")
    user = relationship("User")
    role_rows: Mapped[list[MembershipRole]] = relationship(
        back_populates="membership", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, role: str) -> bool:
        return role in self.roles


class MembershipRole(db.Model):
    """One role held by a member."""

    __tablename__ = "membership_role"
    __table_args__ = (UniqueConstraint("membership_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("membership.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    membership: Mapped[Membership] = relationship(back_populates="role_rows")
