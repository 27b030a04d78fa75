"""Reminders, for cron: `flask reminders send [--stalled-days N]`.

Administrators of organizations whose onboarding has stalled, and people who have not
accepted an invitation, get at most one reminder of each kind per REMINDER_INTERVAL;
administrators of a live organization whose yearly access review comes due are reminded at
each of ACCESS_REVIEW_REMINDER_DAYS before it, once per due date. The
`reminder_log` row is written in the same transaction as the audit event, under a unique
(recipient, kind, period) key, so that running the command twice, or on two hosts at once,
never sends anything twice."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from . import audit
from .agreements.resign_reminders import send_resign_reminders
from .audit.events import AuditEventType
from .extensions import db
from .mail import external_url, send_mail
from .models import (
    Invitation,
    Membership,
    MembershipRole,
    Organization,
    OrganizationProgress,
    ReminderLog,
    User,
)
from .models.base import utcnow
from .operators.filters import Filters
from .operators.listing import listing_query, split
from .tasks.projection import refresh_due
from .team.review_facts import reminder_days
from .template_filters import when_text

STALLED = "stalled_onboarding"
INVITATION = "invitation_pending"
RESIGN = "resign"
ACCESS_REVIEW = "access_review"  # a kind per reminder point: "access_review_30d", ...
DAY = timedelta(days=1)


@dataclass
class Summary:
    sent: Counter = field(default_factory=Counter)
    already_reminded: int = 0

    def line(self) -> str:
        return (
            f"Reminders: {sum(self.sent.values())} sent ({self.sent[STALLED]} about stalled "
            f"onboarding, {self.sent[INVITATION]} about invitations, {self.sent[RESIGN]} about "
            f"new agreement versions to sign, {self.sent[ACCESS_REVIEW]} about access reviews), "
            f"{self.already_reminded} skipped (already reminded)."
        )


def period_of(when: datetime, interval: timedelta) -> int:
    """The number of whole intervals since the Unix epoch."""
    return int(when.timestamp() // interval.total_seconds())


def claim(
    recipient: str,
    kind: str,
    organization_id: int | None,
    now: datetime,
    interval: timedelta,
    period: int | None = None,
) -> bool:
    """Write the reminder's log row unless one was sent within the interval (or, given a
    `period`, unless this period's was sent at all); False if not."""
    if period is not None:
        return ReminderLog.claim(recipient, kind, organization_id, now, period)
    recent = db.session.scalar(
        select(ReminderLog.id)
        .where(
            func.lower(ReminderLog.recipient) == recipient.lower(),
            ReminderLog.kind == kind,
            ReminderLog.sent_at > now - interval,
        )
        .limit(1)
    )
    if recent is not None:
        return False
    return ReminderLog.claim(recipient, kind, organization_id, now, period_of(now, interval))


def stalled_organizations(stalled_days: int) -> list[tuple[Organization, list[str]]]:
    """Unfinished, unsuspended organizations with no activity for `stalled_days` days, each with
    the titles of its required tasks still to do (read from the progress projection)."""
    refresh_due()
    query = listing_query(Filters(stalled_days=stalled_days), Organization, every_row=True).where(
        Organization.suspended_at.is_(None)
    )
    stalled = []
    for result in db.session.execute(query):
        (org,), states, _, _ = split(result, 1)
        stalled.append((org, [s.task.title for s in states if s.task.required and not s.completed]))
    return stalled


def administrators(organization_ids: list[int]) -> dict[int, list[User]]:
    """The active administrators of these organizations, in one query."""
    found: dict[int, list[User]] = {org_id: [] for org_id in organization_ids}
    for org_id, user in db.session.execute(
        select(Membership.organization_id, User)
        .join(User, User.id == Membership.user_id)
        .join(MembershipRole, MembershipRole.membership_id == Membership.id)
        .where(
            Membership.organization_id.in_(organization_ids),
            MembershipRole.role == "admin",
            User.deactivated_at.is_(None),
        )
        .order_by(User.full_name, User.id)
    ).tuples():
        found[org_id].append(user)
    return found


def open_invitations(stalled_days: int, now: datetime) -> list[Invitation]:
    """Invitations still open that were sent at least `stalled_days` days ago."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
                Invitation.sent_at <= now - timedelta(days=stalled_days),
            )
            .order_by(Invitation.id)
        )
    )


def reviews_coming(now: datetime) -> list[tuple[Organization, datetime, int]]:
    """Live, unsuspended organizations whose access review falls due within the first reminder
    point, each with its due date and the latest point reached (days before it)."""
    days = reminder_days()
    if not days:
        return []
    rows = db.session.execute(
        select(Organization, OrganizationProgress.access_review_due_at)
        .join(OrganizationProgress, OrganizationProgress.organization_id == Organization.id)
        .where(
            OrganizationProgress.access_review_due_at > now,
            OrganizationProgress.access_review_due_at <= now + days[0] * DAY,
            Organization.suspended_at.is_(None),
            Organization.offboarded_at.is_(None),
        )
        .order_by(Organization.id)
    ).tuples()
    return [(org, due, min(d for d in days if due - now <= d * DAY)) for org, due in rows]


def _deliver(
    summary: Summary,
    kind: str,
    recipient: str,
    organization_id: int | None,
    subject: str,
    template: str,
    period: int | None = None,
    **context: object,
) -> None:
    """Claim, audit, queue the mail and commit one reminder; the mail is delivered after commit
    (and, if the mail server does not answer, retried from the outbox)."""
    now = utcnow()
    interval = current_app.config["REMINDER_INTERVAL"]
    if not claim(recipient, kind, organization_id, now, interval, period):
        summary.already_reminded += 1
        return
    audit.record(
        AuditEventType.REMINDER_SENT,
        organization_id=organization_id,
        details={"kind": kind, "recipient": recipient},
    )
    send_mail(recipient, subject, template, **context)
    db.session.commit()
    summary.sent[_family(kind)] += 1


def _family(kind: str) -> str:
    """The summary's count a kind belongs to (each access review point counts as one kind)."""
    return ACCESS_REVIEW if kind.startswith(ACCESS_REVIEW) else kind


def send_reminders(stalled_days: int) -> Summary:
    """Send every reminder that is due."""
    summary = Summary()
    tasks_link = external_url("main.tasks")
    stalled = stalled_organizations(stalled_days)
    admins = administrators([org.id for org, _ in stalled])
    for org, pending in stalled:
        for user in admins[org.id]:
            _deliver(
                summary,
                STALLED,
                user.email,
                org.id,
                "Your organization's CQMR onboarding is waiting for you",
                "reminder_stalled",
                user=user,
                organization=org,
                pending=pending,
                days=stalled_days,
                link=tasks_link,
            )
    now = utcnow()
    for invitation in open_invitations(stalled_days, now):
        inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
        _deliver(
            summary,
            INVITATION,
            invitation.email,
            invitation.organization_id,
            "Reminder: you are invited to join your organization's CQMR onboarding",
            "reminder_invitation",
            invitation=invitation,
            inviter=inviter,
            organization_name=invitation.organization.legal_name or "your organization",
        )
    sent, already = send_resign_reminders()
    summary.sent[RESIGN] += sent
    summary.already_reminded += already
    send_review_reminders(summary)
    return summary


def send_review_reminders(summary: Summary) -> None:
    """Remind administrators of each access review coming due: at each reminder point, once
    per due date (the claim's period is the due date's day)."""
    now = utcnow()
    coming = reviews_coming(now)
    admins = administrators([org.id for org, _, _ in coming])
    config = current_app.config
    for org, due, days in coming:
        for user in admins[org.id]:
            _deliver(
                summary,
                f"{ACCESS_REVIEW}_{days}d",
                user.email,
                org.id,
                f"Your organization's yearly CQMR access review is due by {when_text(due)}",
                "reminder_access_review",
                period=period_of(due, DAY),
                user=user,
                organization=org,
                due=due,
                days=days,
                link=external_url("team.access_review"),
                enforced=config["ACCESS_REVIEW_ENFORCE"],
                grace_days=config["ACCESS_REVIEW_GRACE"].days,
            )


reminders_cli = AppGroup("reminders", help="Reminder emails (run daily from cron).")


@reminders_cli.command("send")
@click.option(
    "--stalled-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days without activity before a reminder (default REMINDER_STALLED_DAYS).",
)
def send_command(stalled_days: int | None) -> None:
    """Remind administrators of stalled onboarding and access reviews coming due, invitees who
    have not accepted, and signers and people of a new agreement version to sign before its date."""
    days = stalled_days or current_app.config["REMINDER_STALLED_DAYS"]
    summary = send_reminders(days)
    click.echo(summary.line())
