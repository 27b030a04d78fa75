"""Where an agreement stands (signed, waiting for review, stale, …): computed here only, for the
agreement pages and for the task list's facts alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..models.agreements import UPLOAD_PENDING, UPLOAD_VERIFIED


@dataclass(frozen=True)
class AgreementFact:
    """Where one agreement stands: its current version against what was signed or returned."""

    kind: str
    published: bool = False  # a current version exists
    signed: bool = False  # the current version is signed, or a returned copy was verified
    waiting: bool = False  # a returned signed copy of the current version awaits review
    stale: bool = False  # only an earlier version was signed: a new version re-opened it


def standing(
    kind: str,
    current_id: int | None,
    signed_version_ids: Iterable[int],
    uploads: Iterable[tuple[int, str]] = (),
) -> AgreementFact:
    """One agreement's fact from the version ids signed and the (version id, status) uploads."""
    signed_now = signed_before = waiting = False
    for version_id in signed_version_ids:
        if version_id == current_id:
            signed_now = True
        else:
            signed_before = True
    for version_id, status in uploads:
        if version_id == current_id:
            signed_now = signed_now or status == UPLOAD_VERIFIED
            waiting = waiting or status == UPLOAD_PENDING
        elif status == UPLOAD_VERIFIED:
            signed_before = True
    return AgreementFact(
        kind,
        published=current_id is not None,
        signed=signed_now,
        waiting=waiting and not signed_now,
        stale=signed_before and not signed_now,
    )


def fold(
    kinds: Sequence[str],
    current: dict[str, int],
    signed: Iterable[tuple[str, int]],
    uploads: Iterable[tuple[str, int, str]] = (),
) -> tuple[AgreementFact, ...]:
    """One fact per kind from (kind, version id) signatures and (kind, version id, status) uploads."""
    signed_by_kind: dict[str, list[int]] = {kind: [] for kind in kinds}
    uploads_by_kind: dict[str, list[tuple[int, str]]] = {kind: [] for kind in kinds}
    for kind, version_id in signed:
        signed_by_kind.setdefault(kind, []).append(version_id)
    for kind, version_id, status in uploads:
        uploads_by_kind.setdefault(kind, []).append((version_id, status))
    return tuple(standing(k, current.get(k), signed_by_kind[k], uploads_by_kind[k]) for k in kinds)
