"""The progress projection's read side, for the pages of features below tasks/ (the team page,
the training page): the words of a task's status. tasks/ computes and writes the projection
(rows time alone made stale are recomputed by the outbox deliverer's clock pass, never by a
page), so that these pages never import tasks/."""

from __future__ import annotations

import enum


class Status(enum.Enum):
    """A task's status; the projection stores its name ("COMPLETED"), pages show its words."""

    CANNOT_START = "Cannot start yet"
    NOT_STARTED = "Not started"
    IN_PROGRESS = "In progress"
    WAITING = "Waiting for review"
    COMPLETED = "Completed"
