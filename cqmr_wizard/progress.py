"""The progress projection's read side, for the pages of features below tasks/ (the team page,
the training page): the words of a task's status, and bringing up to date the rows that time
alone made stale before a page reads them. tasks/ computes and writes the projection; create_app
registers its `refresh_due` here, so that these pages never import tasks/."""

from __future__ import annotations

import enum
from collections.abc import Callable


class Status(enum.Enum):
    """A task's status; the projection stores its name ("COMPLETED"), pages show its words."""

    CANNOT_START = "Cannot start yet"
    NOT_STARTED = "Not started"
    IN_PROGRESS = "In progress"
    WAITING = "Waiting for review"
    COMPLETED = "Completed"


_refresh: Callable[[], None] | None = None


def register_refresher(refresh: Callable[[], None]) -> None:
    """Have `refresh_due()` run `refresh`: tasks/ recomputing the rows time alone made stale."""
    global _refresh
    _refresh = refresh


def refresh_due() -> None:
    """Bring up to date the rows whose facts time alone changed (an invitation expired), before
    a page reads them."""
    if _refresh is None:
        raise RuntimeError("No projection refresher is registered: create_app registers tasks/' one")
    _refresh()
