"""Agreement facts for the task list, in bulk: for a set of organizations and a set of people, a
fixed number of queries whatever their number. The single case is a bulk of one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, select

from ..extensions import db
from ..models import AgreementUpload, AgreementVersion, Signature, UserSignature
from ..models.agreements import UPLOAD_REJECTED
from .documents import ORGANIZATION_KINDS, USER_KINDS
from .standing import AgreementFact, fold


def current_version_ids() -> dict[str, int]:
    """Each kind's current version id, in one query."""
    newest = (
        select(AgreementVersion.kind, func.max(AgreementVersion.version_number).label("n"))
        .group_by(AgreementVersion.kind)
        .subquery()
    )
    rows = db.session.execute(
        select(AgreementVersion.kind, AgreementVersion.id).join(
            newest,
            (AgreementVersion.kind == newest.c.kind) & (AgreementVersion.version_number == newest.c.n),
        )
    ).all()
    return dict(rows)


def agreement_facts(
    organization_ids: Collection[int], user_ids: Collection[int]
) -> tuple[dict[int, tuple[AgreementFact, ...]], dict[int, tuple[AgreementFact, ...]]]:
    """The organization agreements' facts by organization id and each person's own by user id."""
    current = current_version_ids()
    signed, returned, own = defaultdict(list), defaultdict(list), defaultdict(list)
    if organization_ids:
        for org_id, kind, version_id in db.session.execute(
            select(Signature.organization_id, AgreementVersion.kind, Signature.agreement_version_id)
            .join(AgreementVersion, AgreementVersion.id == Signature.agreement_version_id)
            .where(Signature.organization_id.in_(organization_ids))
        ):
            signed[org_id].append((kind, version_id))
        for org_id, kind, version_id, status in db.session.execute(
            select(
                AgreementUpload.organization_id,
                AgreementVersion.kind,
                AgreementUpload.agreement_version_id,
                AgreementUpload.status,
            )
            .join(AgreementVersion, AgreementVersion.id == AgreementUpload.agreement_version_id)
            .where(
                AgreementUpload.organization_id.in_(organization_ids),
                AgreementUpload.status != UPLOAD_REJECTED,
            )
        ):
            returned[org_id].append((kind, version_id, status))
    if user_ids:
        for user_id, kind, version_id in db.session.execute(
            select(UserSignature.signer_id, AgreementVersion.kind, UserSignature.agreement_version_id)
            .join(AgreementVersion, AgreementVersion.id == UserSignature.agreement_version_id)
            .where(UserSignature.signer_id.in_(user_ids))
        ):
            own[user_id].append((kind, version_id))
    return (
        {
            org_id: fold(ORGANIZATION_KINDS, current, signed[org_id], returned[org_id])
            for org_id in organization_ids
        },
        {user_id: fold(USER_KINDS, current, own[user_id]) for user_id in user_ids},
    )
