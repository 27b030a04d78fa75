"""Agreement facts for the task list, in bulk: for a set of organizations and a set of people, a
fixed number of queries whatever their number (and, for the date to sign a new version by,
the clock: `utcnow()`). The single case is a bulk of one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import AgreementExtension, AgreementUpload, AgreementVersion, Signature, UserSignature
from ..models.agreements import UPLOAD_REJECTED
from ..models.base import utcnow
from .documents import ORGANIZATION_KINDS, USER_KINDS
from .standing import AgreementFact, VersionWindow, fold


def version_windows() -> dict[str, list[VersionWindow]]:
    """Every kind's published versions, oldest first, with their dates to sign by, in one query."""
    windows: dict[str, list[VersionWindow]] = defaultdict(list)
    for kind, version_id, sign_by, published_at in db.session.execute(
        select(
            AgreementVersion.kind,
            AgreementVersion.id,
            AgreementVersion.sign_by,
            AgreementVersion.published_at,
        ).order_by(AgreementVersion.kind, AgreementVersion.version_number)
    ):
        windows[kind].append(VersionWindow(version_id, sign_by, published_at))
    return dict(windows)


def extensions(organization_ids: Collection[int]) -> dict[int, dict[int, datetime]]:
    """Each organization's extended dates to sign by, by version id (the newest extension counts)."""
    extended: dict[int, dict[int, datetime]] = defaultdict(dict)
    for org_id, version_id, sign_by in db.session.execute(
        select(
            AgreementExtension.organization_id,
            AgreementExtension.agreement_version_id,
            AgreementExtension.sign_by,
        )
        .where(AgreementExtension.organization_id.in_(organization_ids))
        .order_by(AgreementExtension.id)
    ):
        extended[org_id][version_id] = sign_by
    return extended


def agreement_facts(
    organization_ids: Collection[int], user_ids: Collection[int]
) -> tuple[dict[int, tuple[AgreementFact, ...]], dict[int, tuple[AgreementFact, ...]]]:
    """The organization agreements' facts by organization id and each person's own by user id."""
    windows, now = version_windows(), utcnow()
    signed, returned, own = defaultdict(list), defaultdict(list), defaultdict(list)
    extended: dict[int, dict[int, datetime]] = {}
    if organization_ids:
        extended = extensions(organization_ids)
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
            org_id: fold(
                ORGANIZATION_KINDS,
                windows,
                signed[org_id],
                returned[org_id],
                now=now,
                extended=extended.get(org_id),
            )
            for org_id in organization_ids
        },
        {user_id: fold(USER_KINDS, windows, own[user_id], now=now) for user_id in user_ids},
    )
