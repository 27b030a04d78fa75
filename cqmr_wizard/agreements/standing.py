"""Where an agreement stands (signed, waiting for review, stale, in force, …): computed here only,
for the agreement pages and for the task list's facts alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..models.agreements import UPLOAD_PENDING, UPLOAD_VERIFIED


@dataclass(frozen=True)
class AgreementFact:
    """Where one agreement stands: its current version against what was signed or returned."""

    kind: str
    published: bool = False  # a current version exists
    signed: bool = False  # the current version is signed, or a returned copy was verified
    waiting: bool = False  # a returned signed copy of the current version awaits review
    stale: bool = False  # only an earlier version was signed: a new version re-opened it
    # Signed, or an earlier version's signature still counts: the new version's date to sign
    # by has not passed (nor that of each version between).
    in_force: bool = False
    # When stale: the date by which the current version must be signed (after an extension;
    # its publication for a version in force at once).
    sign_by: datetime | None = None

    @property
    def resign_due(self) -> bool:
        """A new version is to be signed while the earlier signature still counts."""
        return self.stale and self.in_force


@dataclass(frozen=True)
class VersionWindow:
    """One published version of a kind, with the date by which it must be signed (None: at once)."""

    id: int
    sign_by: datetime | None
    published_at: datetime


def _in_force(
    windows: Sequence[VersionWindow], done: set[int], now: datetime, extended: Mapping[int, datetime]
) -> bool:
    """Signed the newest version, or in force under the one before it while its date has not
    passed: a version's window carries only a signature that was itself in force."""
    in_force = False
    for window in windows:
        deadline = extended.get(window.id, window.sign_by)
        in_force = window.id in done or (in_force and deadline is not None and now < deadline)
    return in_force


def standing(
    kind: str,
    current_id: int | None,
    signed_version_ids: Iterable[int],
    uploads: Iterable[tuple[int, str]] = (),
    *,
    windows: Sequence[VersionWindow] = (),
    now: datetime | None = None,
    extended: Mapping[int, datetime] | None = None,
) -> AgreementFact:
    """One agreement's fact from the version ids signed and the (version id, status) uploads;
    with the kind's `windows` (oldest first) and `now`, whether an earlier signature is in force."""
    done: set[int] = set()
    signed_now = signed_before = waiting = False
    for version_id in signed_version_ids:
        done.add(version_id)
        if version_id == current_id:
            signed_now = True
        else:
            signed_before = True
    for version_id, status in uploads:
        if status == UPLOAD_VERIFIED:
            done.add(version_id)
        if version_id == current_id:
            signed_now = signed_now or status == UPLOAD_VERIFIED
            waiting = waiting or status == UPLOAD_PENDING
        elif status == UPLOAD_VERIFIED:
            signed_before = True
    stale = signed_before and not signed_now
    in_force = signed_now
    sign_by = None
    if stale and windows and now is not None:
        extended = extended or {}
        in_force = _in_force(windows, done, now, extended)
        current = windows[-1]
        sign_by = extended.get(current.id, current.sign_by) or current.published_at
    return AgreementFact(
        kind,
        published=current_id is not None,
        signed=signed_now,
        waiting=waiting and not signed_now,
        stale=stale,
        in_force=in_force,
        sign_by=sign_by,
    )


def fold(
    kinds: Sequence[str],
    windows: Mapping[str, Sequence[VersionWindow]],
    signed: Iterable[tuple[str, int]],
    uploads: Iterable[tuple[str, int, str]] = (),
    *,
    now: datetime | None = None,
    extended: Mapping[int, datetime] | None = None,
) -> tuple[AgreementFact, ...]:
    """One fact per kind from (kind, version id) signatures and (kind, version id, status) uploads,
    given each kind's versions oldest first."""
    signed_by_kind: dict[str, list[int]] = {kind: [] for kind in kinds}
    uploads_by_kind: dict[str, list[tuple[int, str]]] = {kind: [] for kind in kinds}
    for kind, version_id in signed:
        signed_by_kind.setdefault(kind, []).append(version_id)
    for kind, version_id, status in uploads:
        uploads_by_kind.setdefault(kind, []).append((version_id, status))
    return tuple(
        standing(
            k,
            windows[k][-1].id if windows.get(k) else None,
            signed_by_kind[k],
            uploads_by_kind[k],
            windows=windows.get(k, ()),
            now=now,
            extended=extended,
        )
        for k in kinds
    )
