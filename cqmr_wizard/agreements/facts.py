"""Agreement facts for the task list, in a fixed number of queries whatever the organization's size
(or, in bulk, however many organizations)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select

from ..extensions import db
from ..models import AgreementUpload, AgreementVersion, Membership, Signature, UserSignature
from ..models.agreements import UPLOAD_PENDING, UPLOAD_REJECTED, UPLOAD_VERIFIED
from ..tasks.engine import AgreementFact
from .documents import ORGANIZATION_KINDS, USER_KINDS

# Above this many organizations the rows of all are read (no long IN list), as training does.
IN_LIST_LIMIT = 500


def current_version_ids() -> dict[str, int]:
    """Each kind's current version id, in one query."""
    newest = (
        select(AgreementVersion.kind, func.max(AgreementVersion.version_number).label("n"))
        .group_by(AgreementVersion.kind)
        .subquery()
    )
    rows = (
        db.session.execute(
            select(AgreementVersion.kind, AgreementVersion.id).join(
                newest,
                (AgreementVersion.kind == newest.c.kind) & (AgreementVersion.version_number == newest.c.n),
            )
        )
        .tuples()
        .all()
    )
    return dict(rows)


def fold(
    kinds: Sequence[str],
    current: dict[str, int],
    signed: Iterable[tuple[str, int]],
    uploads: Iterable[tuple[str, int, str]] = (),
) -> tuple[AgreementFact, ...]:
    """One fact per kind from (kind, version id) signatures and (kind, version id, status) uploads."""
    signed_now, signed_before, waiting = set(), set(), set()
    for kind, version_id in signed:
        (signed_now if current.get(kind) == version_id else signed_before).add(kind)
    for kind, version_id, status in uploads:
        if current.get(kind) == version_id:
            if status == UPLOAD_VERIFIED:
                signed_now.add(kind)
            elif status == UPLOAD_PENDING:
                waiting.add(kind)
        elif status == UPLOAD_VERIFIED:
            signed_before.add(kind)
    return tuple(
        AgreementFact(
            kind,
            published=kind in current,
            signed=kind in signed_now,
            waiting=kind in waiting and kind not in signed_now,
            stale=kind in signed_before and kind not in signed_now,
        )
        for kind in kinds
    )


def _org_rows(where) -> tuple[list, list]:
    signatures = (
        db.session.execute(
            select(Signature.organization_id, AgreementVersion.kind, Signature.agreement_version_id)
            .join(AgreementVersion, AgreementVersion.id == Signature.agreement_version_id)
            .where(where(Signature.organization_id))
        )
        .tuples()
        .all()
    )
    uploads = (
        db.session.execute(
            select(
                AgreementUpload.organization_id,
                AgreementVersion.kind,
                AgreementUpload.agreement_version_id,
                AgreementUpload.status,
            )
            .join(AgreementVersion, AgreementVersion.id == AgreementUpload.agreement_version_id)
            .where(where(AgreementUpload.organization_id), AgreementUpload.status != UPLOAD_REJECTED)
        )
        .tuples()
        .all()
    )
    return signatures, uploads


def organization_agreement_facts(organization_id: int, current: dict[str, int]) -> tuple[AgreementFact, ...]:
    """The organization agreements' facts, in two queries."""
    signatures, uploads = _org_rows(lambda column: column == organization_id)
    return fold(
        ORGANIZATION_KINDS, current, [(k, v) for _, k, v in signatures], [(k, v, s) for _, k, v, s in uploads]
    )


def user_agreement_facts(user_id: int, current: dict[str, int]) -> tuple[AgreementFact, ...]:
    """The person's own agreements' facts, in one query."""
    rows = (
        db.session.execute(
            select(AgreementVersion.kind, UserSignature.agreement_version_id)
            .join(AgreementVersion, AgreementVersion.id == UserSignature.agreement_version_id)
            .where(UserSignature.signer_id == user_id)
        )
        .tuples()
        .all()
    )
    return fold(USER_KINDS, current, rows)


def _in(column, ids: Sequence[int]):
    return column.in_(ids) if len(ids) <= IN_LIST_LIMIT else True


def organization_agreement_facts_bulk(
    organization_ids: Sequence[int], current: dict[str, int]
) -> dict[int, tuple[AgreementFact, ...]]:
    """`organization_agreement_facts` for many organizations, in two queries."""
    signatures, uploads = _org_rows(lambda column: _in(column, organization_ids))
    signed, returned = defaultdict(list), defaultdict(list)
    for org_id, kind, version_id in signatures:
        signed[org_id].append((kind, version_id))
    for org_id, kind, version_id, status in uploads:
        returned[org_id].append((kind, version_id, status))
    return {
        org_id: fold(ORGANIZATION_KINDS, current, signed[org_id], returned[org_id])
        for org_id in organization_ids
    }


def user_agreement_facts_bulk(
    organization_ids: Sequence[int], current: dict[str, int]
) -> dict[int, tuple[AgreementFact, ...]]:
    """`user_agreement_facts` for every member of these organizations, by user id, in one query."""
    rows = (
        db.session.execute(
            select(UserSignature.signer_id, AgreementVersion.kind, UserSignature.agreement_version_id)
            .join(AgreementVersion, AgreementVersion.id == UserSignature.agreement_version_id)
            .join(Membership, Membership.user_id == UserSignature.signer_id)
            .where(_in(Membership.organization_id, organization_ids))
        )
        .tuples()
        .all()
    )
    signed = defaultdict(list)
    for user_id, kind, version_id in rows:
        signed[user_id].append((kind, version_id))
    empty = fold(USER_KINDS, current, ())
    return defaultdict(
        lambda: empty, {user_id: fold(USER_KINDS, current, items) for user_id, items in signed.items()}
    )
