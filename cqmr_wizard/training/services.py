"""Training rules: publishing and withdrawing resources, storing PDFs, recording reviews."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app, send_file
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit, pdf_safety
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import Membership, TrainingResource, TrainingReview, User
from ..models.base import utcnow
from ..models.training import AUDIENCE_ROLES
from ..refusals import Refusal
from .facts import meant_for


class TrainingError(Refusal):
    """A training rule refused the request."""


def upload_dir() -> Path:
    return Path(current_app.instance_path) / "uploads" / "training"


def read_pdf(stream: BinaryIO) -> bytes:
    """The upload's bytes, if it is a PDF within the size limit; raise TrainingError if not."""
    limit = int(current_app.config["TRAINING_PDF_MAX_BYTES"])
    data = stream.read(limit + 1)
    if not data:
        raise TrainingError("The selected file is empty", "pdf")
    if len(data) > limit:
        raise TrainingError(f"The PDF must be smaller than {limit // (1024 * 1024)} MB", "pdf")
    try:
        pdf_safety.check_pdf(data)
    except pdf_safety.UnsafePdf as refused:
        raise TrainingError(refused.message, "pdf") from None
    return data


def add_resource(
    operator: User,
    *,
    title: str,
    description: str,
    audience: str,
    url: str | None = None,
    pdf: bytes | None = None,
    filename: str | None = None,
) -> TrainingResource:
    """Publish a resource: a link, or a PDF stored under instance/uploads/training/."""
    resource = TrainingResource(
        title=title.strip(),
        description=(description or "").strip(),
        audience=audience,
        url=url or None,
        created_by_id=operator.id,
    )
    path = None
    if pdf is not None:
        resource.file_name = f"{secrets.token_hex(16)}.pdf"
        resource.original_filename = Path(filename or "training.pdf").name[:200]
        resource.file_size = len(pdf)
        resource.file_sha256 = hashlib.sha256(pdf).hexdigest()
        path = upload_dir() / resource.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf)
    db.session.add(resource)
    db.session.flush()
    audit.record(
        AuditEventType.TRAINING_RESOURCE_ADDED,
        actor_id=operator.id,
        details={
            "resource_id": resource.id,
            "title": resource.title,
            "audience": audience,
            "url": resource.url,
            "file_sha256": resource.file_sha256,
        },
    )
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if path is not None:  # no row points at it
            path.unlink(missing_ok=True)
        raise
    return resource


def withdraw_resource(operator: User, resource: TrainingResource) -> None:
    """Take a resource off every list; its reviews stay on record."""
    if resource.withdrawn_at is not None:
        raise TrainingError("This item was already withdrawn")
    resource.withdrawn_at = utcnow()
    audit.record(
        AuditEventType.TRAINING_RESOURCE_WITHDRAWN,
        actor_id=operator.id,
        details={"resource_id": resource.id, "title": resource.title},
    )
    db.session.commit()


def all_resources() -> list[TrainingResource]:
    return list(
        db.session.scalars(
            select(TrainingResource).order_by(
                TrainingResource.withdrawn_at.is_not(None), TrainingResource.created_at.desc()
            )
        )
    )


def _visible_to(membership: Membership):
    roles = membership.roles
    audiences = ["all", *(a for a, role in AUDIENCE_ROLES.items() if role in roles)]
    return TrainingResource.audience.in_(audiences)


def resources_for(membership: Membership) -> list[TrainingResource]:
    """The published resources meant for this member (all users, and their roles')."""
    return list(
        db.session.scalars(
            select(TrainingResource)
            .where(TrainingResource.withdrawn_at.is_(None), _visible_to(membership))
            .order_by(TrainingResource.created_at)
        )
    )


def find_for(membership: Membership, resource_id: int) -> TrainingResource | None:
    return db.session.scalar(
        select(TrainingResource).where(
            TrainingResource.id == resource_id,
            TrainingResource.withdrawn_at.is_(None),
            _visible_to(membership),
        )
    )


@dataclass(frozen=True)
class ReviewState:
    mine: dict[int, object]  # resource id -> when I reviewed it
    by_organization: dict[int, int]  # resource id -> members it is meant for who reviewed it


def review_state(membership: Membership) -> ReviewState:
    """Who has reviewed what, for one member's page (two queries)."""
    mine = dict(
        db.session.execute(
            select(TrainingReview.resource_id, TrainingReview.reviewed_at).where(
                TrainingReview.user_id == membership.user_id
            )
        )
        .tuples()
        .all()
    )
    counts = dict(
        db.session.execute(
            select(TrainingReview.resource_id, func.count(TrainingReview.id))
            .join(Membership, Membership.user_id == TrainingReview.user_id)
            .join(TrainingResource, TrainingResource.id == TrainingReview.resource_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.organization_id == membership.organization_id,
                User.deactivated_at.is_(None),
                meant_for(Membership.id, TrainingResource.audience),
            )
            .group_by(TrainingReview.resource_id)
        )
        .tuples()
        .all()
    )
    return ReviewState(mine, counts)


def mark_reviewed(user: User, membership: Membership, resource: TrainingResource) -> bool:
    """Record that the user reviewed the resource; False if they already had."""
    try:
        with db.session.begin_nested():
            db.session.add(TrainingReview(user_id=user.id, resource_id=resource.id))
    except IntegrityError:
        return False
    audit.record(
        AuditEventType.TRAINING_REVIEWED,
        actor_id=user.id,
        subject_user_id=user.id,
        organization_id=membership.organization_id,
        details={"resource_id": resource.id, "title": resource.title},
    )
    db.session.commit()
    return True


def send_resource_file(resource: TrainingResource):
    """Send an uploaded training PDF as a download under the name it was uploaded with."""
    return send_file(
        upload_dir() / resource.file_name,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=resource.original_filename or "training.pdf",
    )
