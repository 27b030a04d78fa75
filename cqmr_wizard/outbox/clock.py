"""Work that time alone makes due (an invitation expiring changes who is ready): passes the app
factory registers, run by the outbox deliverer on every poll (`flask outbox deliver`, with or
without `--loop`) and, when delivery runs in the background, by each process's courier every
OUTBOX_CLOCK_INTERVAL seconds. Each pass commits its own transaction; what it changes reaches
the CQMR through the commit pipeline like any other change."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, current_app

from ..extensions import db

log = logging.getLogger(__name__)
EXTENSION = "outbox_clock_passes"


def register(app: Flask, name: str, run: Callable[[], object]) -> None:
    """Run `run()` (which commits its own work) on every clock tick of this app."""
    app.extensions.setdefault(EXTENSION, {})[name] = run


def tick() -> None:
    """Run every registered pass once; a failing pass is logged and rolled back, not fatal."""
    for name, run in current_app.extensions.get(EXTENSION, {}).items():
        try:
            run()
        except Exception:  # the next tick tries again; one bad pass must not stop delivery
            log.exception("clock pass %s failed", name)
            db.session.rollback()
