"""Consent to do business electronically (ESIGN Act §7001(c), UETA §5): disclose, record, withdraw."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import ElectronicConsent, User
from ..models.base import utcnow
from .documents import render_markdown, sha256_hex
from .evidence import ClientInfo

DISCLOSURE_FILE = Path(__file__).parent / "disclosure.md"


@dataclass(frozen=True)
class Disclosure:
    version: str
    title: str
    html: str
    sha256: str


@lru_cache(maxsize=1)
def disclosure() -> Disclosure:
    """The consumer disclosure shown before consent, with its version and hash."""
    text = DISCLOSURE_FILE.read_text(encoding="utf-8")
    header, body = text[4:].split("\n---\n", 1)
    meta = dict(line.split(":", 1) for line in header.splitlines() if ":" in line)
    html = render_markdown(body)
    return Disclosure(meta["version"].strip(), meta["title"].strip(), html, sha256_hex(html))


def active_consent(user_id: int) -> ElectronicConsent | None:
    """The person's consent in force for the current disclosure, if any."""
    consent = db.session.scalar(
        select(ElectronicConsent).where(
            ElectronicConsent.user_id == user_id, ElectronicConsent.withdrawn_at.is_(None)
        )
    )
    if consent is None or consent.disclosure_version != disclosure().version:
        return None
    return consent


def give_consent(user: User, client: ClientInfo) -> ElectronicConsent:
    """Record consent to the current disclosure; giving it twice keeps the first record."""
    current = disclosure()
    existing = db.session.scalar(
        select(ElectronicConsent).where(
            ElectronicConsent.user_id == user.id, ElectronicConsent.withdrawn_at.is_(None)
        )
    )
    if existing is not None:
        if existing.disclosure_version == current.version:
            return existing
        # The disclosure changed since: the old consent ends, a new one is asked for.
        existing.withdrawn_at = utcnow()
        audit.record(
            AuditEventType.AGREEMENT_CONSENT_SUPERSEDED,
            actor_id=user.id,
            subject_user_id=user.id,
            details={"consent_id": existing.id, "disclosure_version": existing.disclosure_version},
        )
        db.session.flush()
    consent = ElectronicConsent(
        user_id=user.id,
        disclosure_version=current.version,
        disclosure_sha256=current.sha256,
        consented_at=utcnow(),
        ip_address=client.ip_address,
        user_agent=client.user_agent,
    )
    db.session.add(consent)
    try:
        db.session.flush()
    except IntegrityError:  # a second click raced this one; its record stands
        db.session.rollback()
        winner = active_consent(user.id)
        if winner is None:
            raise
        return winner
    audit.record(
        AuditEventType.AGREEMENT_CONSENTED,
        actor_id=user.id,
        subject_user_id=user.id,
        details={
            "consent_id": consent.id,
            "disclosure_version": current.version,
            "disclosure_sha256": current.sha256,
            "session_hash": client.session_hash,
        },
    )
    db.session.commit()
    return consent


def withdraw_consent(user: User, client: ClientInfo) -> ElectronicConsent | None:
    """Withdraw the person's consent in force; signatures already made stay valid."""
    consent = db.session.scalar(
        select(ElectronicConsent).where(
            ElectronicConsent.user_id == user.id, ElectronicConsent.withdrawn_at.is_(None)
        )
    )
    if consent is None:
        return None
    consent.withdrawn_at = utcnow()
    consent.withdrawn_ip_address = client.ip_address
    consent.withdrawn_user_agent = client.user_agent
    audit.record(
        AuditEventType.AGREEMENT_CONSENT_WITHDRAWN,
        actor_id=user.id,
        subject_user_id=user.id,
        details={"consent_id": consent.id, "disclosure_version": consent.disclosure_version},
    )
    db.session.commit()
    return consent
