"""What changed in a new agreement version, for the banners that ask to sign it: the version,
the one before it, the date to sign by, and the difference of their Markdown texts."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..models import AgreementVersion
from .documents import KINDS
from .standing import AgreementFact

CONTEXT = 1  # unchanged lines shown around each change


@dataclass(frozen=True)
class Line:
    """One line of a difference: "added", "removed" or "same", and its text."""

    change: str
    text: str


@dataclass(frozen=True)
class NewVersion:
    """A new version of an agreement signed before in an earlier version and not since."""

    fact: AgreementFact
    version: AgreementVersion
    previous: AgreementVersion | None

    @property
    def slug(self) -> str:
        return KINDS[self.version.kind].slug

    @property
    def sign_by(self) -> datetime | None:
        return self.fact.sign_by

    @property
    def in_force(self) -> bool:
        """The earlier signature still counts: the date has not passed."""
        return self.fact.in_force

    @property
    def hunks(self) -> list[list[Line]]:
        return difference(self.previous.body if self.previous else "", self.version.body)


def difference(old: str, new: str) -> list[list[Line]]:
    """The changed lines of two texts, grouped with CONTEXT unchanged lines around each change."""
    before, after = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(CONTEXT):
        lines = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(Line("same", text) for text in before[i1:i2])
                continue
            lines.extend(Line("removed", text) for text in before[i1:i2] if tag != "insert")
            lines.extend(Line("added", text) for text in after[j1:j2] if tag != "delete")
        hunks.append([line for line in lines if line.text.strip() or line.change != "same"])
    return hunks


def new_versions(facts: Iterable[AgreementFact]) -> list[NewVersion]:
    """The agreements among `facts` whose new version is still to be signed, with that version
    and the one before it (one query)."""
    stale = [fact for fact in facts if fact.stale and fact.sign_by is not None]
    if not stale:
        return []
    newest = (
        select(AgreementVersion.kind, func.max(AgreementVersion.version_number).label("n"))
        .where(AgreementVersion.kind.in_([fact.kind for fact in stale]))
        .group_by(AgreementVersion.kind)
        .subquery()
    )
    rows = db.session.scalars(
        select(AgreementVersion)
        .join(newest, AgreementVersion.kind == newest.c.kind)
        .where(AgreementVersion.version_number >= newest.c.n - 1)
        .order_by(AgreementVersion.kind, AgreementVersion.version_number)
    ).all()
    by_kind: dict[str, list[AgreementVersion]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    found = []
    for fact in stale:
        versions = by_kind.get(fact.kind, [])
        # A version in force at once ("sign by: now") keeps the plain "not signed" wording.
        if versions and (versions[-1].sign_by is not None or fact.in_force):
            found.append(NewVersion(fact, versions[-1], versions[-2] if len(versions) > 1 else None))
    return found
