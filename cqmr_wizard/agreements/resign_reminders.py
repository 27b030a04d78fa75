"""Reminders to sign a new agreement version before its date (`flask reminders send`): to the
signers and administrators of each organization that signed an earlier version, and to each
person for their own agreements, at AGREEMENT_RESIGN_REMINDER_DAYS days before the date. Each
reminder goes once: its `reminder_log` row, keyed by (recipient, kind and days, the date's
day), is written in the transaction that queues the mail, so a second run, or a run on another
host, sends nothing; an extended date is a new date, with reminders of its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import external_url, send_mail
from ..models import MemberProgress, Membership, MembershipRole, Organization, ReminderLog, User
from ..models.base import utcnow
from ..models.progress import OrganizationProgress
from ..template_filters import when_text
from .documents import latest_versions
from .facts import agreement_facts
from .standing import AgreementFact

KIND_PREFIX = "resign"


@dataclass(frozen=True)
class Due:
    """One reminder to send: whom, about which agreement, how many days before its date."""

    recipient: User
    organization: Organization | None
    fact: AgreementFact
    days: int


def reminder_days() -> list[int]:
    """AGREEMENT_RESIGN_REMINDER_DAYS ("30,7,1") as whole days, largest first."""
    text = str(current_app.config["AGREEMENT_RESIGN_REMINDER_DAYS"])
    return sorted({int(part) for part in text.split(",") if part.strip()}, reverse=True)


def threshold(fact: AgreementFact, now: datetime, days: list[int]) -> int | None:
    """The reminder point this agreement has reached (the nearest to its date), if any."""
    if not fact.resign_due or fact.sign_by is None:
        return None
    reached = [d for d in days if fact.sign_by - now <= timedelta(days=d)]
    return min(reached) if reached else None


def signers_and_administrators(organization_ids: list[int]) -> dict[int, list[User]]:
    """The active members holding the signer or administrator role, by organization (one query)."""
    found: dict[int, dict[int, User]] = defaultdict(dict)
    for org_id, user in db.session.execute(
        select(Membership.organization_id, User)
        .join(User, User.id == Membership.user_id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(
            Membership.organization_id.in_(organization_ids),
            MembershipRole.role.in_(("admin", "signer")),
            User.deactivated_at.is_(None),
        )
        .order_by(User.full_name, User.id)
    ).tuples():
        found[org_id][user.id] = user
    return {org_id: list(users.values()) for org_id, users in found.items()}


def due_reminders(now: datetime) -> Iterator[Due]:
    """Every re-sign reminder that has reached one of its points (some may be sent already)."""
    days = reminder_days()
    orgs = db.session.scalars(
        select(Organization)
        .join(OrganizationProgress, OrganizationProgress.organization_id == Organization.id)
        .where(OrganizationProgress.resign_by > now, Organization.offboarded_at.is_(None))
        .order_by(Organization.id)
    ).all()
    org_facts, _ = agreement_facts([org.id for org in orgs], ())
    people = signers_and_administrators([org.id for org in orgs])
    for org in orgs:
        for fact in org_facts[org.id]:
            reached = threshold(fact, now, days)
            if reached is not None:
                yield from (Due(user, org, fact, reached) for user in people.get(org.id, []))
    user_ids = list(
        db.session.scalars(select(MemberProgress.user_id).where(MemberProgress.refresh_due_at > now))
    )
    users = {
        u.id: u
        for u in db.session.scalars(select(User).where(User.id.in_(user_ids), User.deactivated_at.is_(None)))
    }
    _, own = agreement_facts((), list(users))
    for user_id, facts in own.items():
        for fact in facts:
            reached = threshold(fact, now, days)
            if reached is not None:
                yield Due(users[user_id], None, fact, reached)


def _claim(due: Due, now: datetime) -> bool:
    """Write the reminder's log row; False if this reminder was sent before."""
    return ReminderLog.claim(
        due.recipient.email,
        f"{KIND_PREFIX}_{due.fact.kind}_{due.days}"[:32],
        due.organization.id if due.organization else None,
        now,
        int(due.fact.sign_by.timestamp() // 86400),
    )


def send_resign_reminders() -> tuple[int, int]:
    """Send every re-sign reminder that is due and not sent yet; returns (sent, already sent)."""
    now = utcnow()
    versions = latest_versions()
    sent = skipped = 0
    for due in list(due_reminders(now)):
        if not _claim(due, now):
            skipped += 1
            continue
        version = versions[due.fact.kind]
        audit.record(
            AuditEventType.REMINDER_SENT,
            organization_id=due.organization.id if due.organization else None,
            subject_user_id=due.recipient.id,
            details={
                "kind": f"{KIND_PREFIX}_{due.fact.kind}",
                "days": due.days,
                "recipient": due.recipient.email,
            },
        )
        send_mail(
            due.recipient.email,
            f"Sign the new version of the {version.title} by {when_text(due.fact.sign_by)}",
            "reminder_resign",
            user=due.recipient,
            organization=due.organization,
            version=version,
            sign_by=due.fact.sign_by,
            link=external_url(
                "agreements.organization" if due.organization else "agreements.user_agreements"
            ),
        )
        db.session.commit()
        sent += 1
    return sent, skipped
