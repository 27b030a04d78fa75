"""After a transaction that wrote outbox rows commits, deliver them from this process:
on a background thread per process (OUTBOX_DELIVERY="background", the default), so that no
response waits on another server; in the committing thread once the commit is done
("inline", for tests, and always outside a request: a command has no response to delay and
may exit before a thread would finish); or not at all ("worker": only `flask outbox deliver`).
Delivery never runs inside the committing transaction."""

from __future__ import annotations

import logging
import os
import queue
import threading

from flask import Flask, current_app, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from ..models import OutboxMessage
from . import delivery
from .queue import WROTE

log = logging.getLogger(__name__)

_NEW_IDS = "outbox_new_ids"


class Courier:
    """One daemon thread per process that delivers the ids handed to it."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Flask, list[int]]] = queue.Queue()
        self._lock = threading.Lock()
        self._pid: int | None = None

    def submit(self, app: Flask, ids: list[int]) -> None:
        """Queue these messages for delivery; starts the thread in this process if needed."""
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked worker
                self._jobs = queue.Queue()
                threading.Thread(target=self._run, name="outbox-courier", daemon=True).start()
                self._pid = os.getpid()
        self._jobs.put((app, ids))

    def _run(self) -> None:
        jobs = self._jobs
        while True:
            app, ids = jobs.get()
            try:
                with app.app_context():
                    delivery.deliver(ids)
            except Exception:  # the worker command retries whatever was not delivered
                log.exception("outbox delivery after commit failed")


courier = Courier()


def deliver_after_commit(session: Session, ids: list[int]) -> None:
    """Hand these messages to delivery once the session's transaction commits."""
    session.info.setdefault(_NEW_IDS, []).extend(ids)


def _after_flush(session: Session, flush_context: object) -> None:
    session.info[WROTE] = True
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if ids:
        session.info.setdefault(_NEW_IDS, []).extend(ids)


def _orm_write(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def _after_commit(session: Session) -> None:
    session.info.pop(WROTE, None)
    ids = session.info.pop(_NEW_IDS, None)
    if not ids or not has_app_context():
        return
    app = current_app._get_current_object()
    mode = app.config["OUTBOX_DELIVERY"]
    if mode == "background" and has_request_context():
        courier.submit(app, ids)
    elif mode != "worker":
        try:
            delivery.deliver(ids)
        except Exception:  # the message stays in the outbox for the worker
            log.exception("outbox delivery after commit failed")


def _after_rollback(session: Session) -> None:
    session.info.pop(WROTE, None)
    session.info.pop(_NEW_IDS, None)


event.listen(Session, "after_flush", _after_flush)
event.listen(Session, "do_orm_execute", _orm_write)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_rollback", _after_rollback)
