"""Training facts for the task list: how many items there are, and how many a member they are
meant for has reviewed. Two queries for a set of organizations (the single case is a set of one).
What they make of the training task is `training_status`, which the training page shows too."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, exists, func, or_, select

from ..extensions import db
from ..models import Membership, MembershipRole, TrainingResource, TrainingReview, User
from ..models.training import AUDIENCE_ROLES
from ..progress import Status


def meant_for(membership_id_column, audience_column):
    """SQL: the member holds the role the resource's audience needs (any member for "all")."""
    return or_(
        audience_column == "all",
        *(
            and_(
                audience_column == audience,
                exists().where(
                    MembershipRole.membership_id == membership_id_column, MembershipRole.role == role
                ),
            )
            for audience, role in AUDIENCE_ROLES.items()
        ),
    )


def training_counts(organization_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """`training_items` and `training_reviewed` for each organization, in two queries."""
    items = db.session.scalar(
        select(func.count(TrainingResource.id)).where(TrainingResource.withdrawn_at.is_(None))
    )
    reviewed = {}
    if organization_ids:
        reviewed = dict(
            db.session.execute(
                select(Membership.organization_id, func.count(func.distinct(TrainingReview.resource_id)))
                .select_from(TrainingReview)
                .join(Membership, Membership.user_id == TrainingReview.user_id)
                .join(User, User.id == Membership.user_id)
                .join(TrainingResource, TrainingResource.id == TrainingReview.resource_id)
                .where(
                    Membership.organization_id.in_(organization_ids),
                    TrainingResource.withdrawn_at.is_(None),
                    User.deactivated_at.is_(None),
                    meant_for(Membership.id, TrainingResource.audience),
                )
                .group_by(Membership.organization_id)
            ).all()
        )
    return {
        org_id: {"training_items": items or 0, "training_reviewed": reviewed.get(org_id, 0)}
        for org_id in organization_ids
    }


def training_status(training_items: int, training_reviewed: int) -> Status:
    """Completed when every published item was reviewed by a member it is meant for; with
    nothing published there is nothing to complete."""
    if not training_items:
        return Status.NOT_STARTED
    if training_reviewed >= training_items:
        return Status.COMPLETED
    if training_reviewed:
        return Status.IN_PROGRESS
    return Status.NOT_STARTED
