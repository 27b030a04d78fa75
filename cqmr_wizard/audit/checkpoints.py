"""Checkpoints of the audit chain, kept outside the database: one JSON line per checkpoint
(last id, its link, time) appended to AUDIT_CHECKPOINT_FILE. A chain that no longer reaches
a checkpoint, or reaches it with another link, was truncated or rewritten."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from ..extensions import db
from ..models import AuditEvent
from ..models.base import utcnow


@dataclass(frozen=True)
class Checkpoint:
    last_id: int
    link: str
    at: str


def write_checkpoint(path: str, last_id: int, link: str, at: datetime | None = None) -> Checkpoint:
    """Append one checkpoint line; the file is opened for appending only (O_APPEND)."""
    checkpoint = Checkpoint(last_id, link, (at or utcnow()).isoformat())
    line = json.dumps(checkpoint.__dict__, separators=(",", ":")) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode())  # one write of one short line: appends never interleave
    finally:
        os.close(fd)
    return checkpoint


def checkpoint_now(path: str) -> Checkpoint | None:
    """Write a checkpoint of the chain's current end (None when the log is empty)."""
    last = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is None:
        return None
    return write_checkpoint(path, last.id, last.hash)


def read_checkpoints(path: str) -> list[Checkpoint]:
    """Every checkpoint in the file, skipping lines that are not checkpoints."""
    found = []
    for line in Path(path).read_text().splitlines():
        try:
            data = json.loads(line)
            found.append(Checkpoint(int(data["last_id"]), str(data["link"]), str(data["at"])))
        except (ValueError, KeyError, TypeError):
            continue
    return found


def _ranges(ids: list[int]) -> str:
    parts, start = [], None
    for i, value in enumerate(ids):
        start = value if start is None else start
        if i + 1 == len(ids) or ids[i + 1] != value + 1:
            parts.append(str(start) if start == value else f"{start}–{value}")
            start = None
    return ", ".join(parts)


def check_against(checkpoints: list[Checkpoint]) -> list[str]:
    """Problems found comparing the table with the checkpoints: missing or rewritten ends."""
    if not checkpoints:
        return []
    problems = []
    newest = max(checkpoints, key=lambda c: c.last_id)
    max_id = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    if max_id < newest.last_id:
        missing = list(range(max_id + 1, newest.last_id + 1))
        problems.append(
            f"TRUNCATED: the checkpoint of {newest.at} records event {newest.last_id}, but the log ends at "
            f"event {max_id or 'none'}; missing event ids: {_ranges(missing)}."
        )
    links = dict(
        db.session.execute(
            select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.id.in_({c.last_id for c in checkpoints}))
        ).all()
    )
    for checkpoint in sorted(checkpoints, key=lambda c: c.last_id):
        link = links.get(checkpoint.last_id)
        if checkpoint.last_id <= max_id and link is None:
            problems.append(
                f"MISSING: event {checkpoint.last_id} (checkpoint of {checkpoint.at}) is not in the log."
            )
        elif link is not None and link != checkpoint.link:
            problems.append(
                f"REWRITTEN: event {checkpoint.last_id} has another link than its checkpoint of {checkpoint.at}."
            )
    return problems
