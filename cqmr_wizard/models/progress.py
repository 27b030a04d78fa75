"""The progress projection: each organization's and each member's task statuses and readiness,
written by the task engine in the same transaction as every change of a fact, so that lists of
thousands filter, sort and count in SQL. The gate never reads it: it decides from live facts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class OrganizationProgress(db.Model):
    """Where one organization stands, as the operator dashboard lists it."""

    __tablename__ = "organization_progress"
    __table_args__ = (Index("ix_organization_progress_sort_name", "sort_name", "organization_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    sort_name: Mapped[str | None] = mapped_column(String(200))  # the legal name, lower case
    overall: Mapped[str] = mapped_column(String(16), index=True)  # a tasks.Status name
    # Its own facts let its members through the gate (not suspended, its required tasks done):
    # when this changes, its members' `ready` is recomputed in the same transaction.
    gate_open: Mapped[bool] = mapped_column()
    members: Mapped[int] = mapped_column(index=True)  # active members
    members_ready: Mapped[int] = mapped_column()
    # What the team page says the team task still needs.
    admins: Mapped[int] = mapped_column()
    signers: Mapped[int] = mapped_column()
    pending_invitations: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    went_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # Organization.went_live_at
    # When time alone changes a fact (the first open invitation expires, a date to sign a new
    # agreement version passes): recomputed then.
    refresh_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The earliest date by which a new version of an organization agreement must be signed,
    # while one signed before is not re-signed: "re-sign due" before it, "overdue" after.
    resign_by: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # A live organization's next yearly access review is due (team/review_facts.py).
    access_review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class OrganizationTaskStatus(db.Model):
    """One organization task's status (a tasks.Status name)."""

    __tablename__ = "organization_task_status"
    __table_args__ = (Index("ix_organization_task_status_task", "task_key", "status"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    task_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))


class MemberProgress(db.Model):
    """Where one member stands, as the team page lists them: their own tasks, and `ready`, the
    gate's answer (tasks/gate_rule.py)."""

    __tablename__ = "member_progress"
    __table_args__ = (
        Index("ix_member_progress_organization_sort", "organization_id", "sort_name", "user_id"),
        Index("ix_member_progress_organization_ready", "organization_id", "deactivated", "ready"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    # No foreign key: a membership is deleted before the commit that removes its row here.
    membership_id: Mapped[int] = mapped_column(unique=True)
    sort_name: Mapped[str] = mapped_column(String(200))  # the full name, lower case
    email_verified: Mapped[bool] = mapped_column()
    sso_linked: Mapped[bool] = mapped_column()
    deactivated: Mapped[bool] = mapped_column()
    ready: Mapped[bool] = mapped_column()
    # When time alone changes their facts (the date to sign a new user agreement passes).
    refresh_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class MemberTaskStatus(db.Model):
    """One of a member's own tasks and its status (a tasks.Status name)."""

    __tablename__ = "member_task_status"
    __table_args__ = (Index("ix_member_task_status_task", "task_key", "status"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    task_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
