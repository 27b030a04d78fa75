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
import time

from flask import Flask, current_app, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..models import OutboxMessage
from ..request_id import carrying, current_request_id
from . import clock, delivery

log = logging.getLogger(__name__)

_NEW_IDS = "outbox_new_ids"


class Courier:
    """One daemon thread per process that delivers the ids handed to it and, once the process
    serves requests (`keep_time`), runs that app's clock passes every OUTBOX_CLOCK_INTERVAL
    seconds. A process that only hands over messages (a command, a script) keeps no clock."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Flask, list[int], str | None]] = queue.Queue()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._clock_app: Flask | None = None

    def start(self, app: Flask) -> None:
        """Start this process's thread, once (and again in a forked worker)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._jobs = queue.Queue()
                threading.Thread(target=self._run, name="outbox-courier", daemon=True).start()
                self._pid = os.getpid()

    def keep_time(self, app: Flask) -> None:
        """Run `app`'s clock passes from now on (the app this process serves)."""
        if self._clock_app is not app or self._pid != os.getpid():
            self.start(app)
            self._clock_app = app
            self._jobs.put((app, [], None))  # wake the thread, which may be waiting without a timeout

    def submit(self, app: Flask, ids: list[int]) -> None:
        """Queue these messages for delivery; starts the thread in this process if needed."""
        self.start(app)
        self._jobs.put((app, ids, current_request_id()))

    def _run(self) -> None:
        jobs, next_tick = self._jobs, time.monotonic()
        while True:
            clock_app = self._clock_app
            timeout = None if clock_app is None else max(0.0, next_tick - time.monotonic())
            request_id = None
            try:
                app, ids, request_id = jobs.get(timeout=timeout)
                if ids:
                    with carrying(request_id), app.app_context():
                        delivery.deliver(ids)
            except queue.Empty:
                pass
            except Exception:  # the worker command retries whatever was not delivered
                log.exception("outbox delivery after commit failed", extra={"request_id": request_id})
            if clock_app is not None and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + float(clock_app.config["OUTBOX_CLOCK_INTERVAL"])
                try:
                    with clock_app.app_context():
                        clock.tick()
                except Exception:
                    log.exception("outbox clock tick failed")


courier = Courier()


def deliver_after_commit(session: Session, ids: list[int]) -> None:
    """Hand these messages to delivery once the session's transaction commits."""
    session.info.setdefault(_NEW_IDS, []).extend(ids)


def _after_flush(session: Session, flush_context: object) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if ids:
        session.info.setdefault(_NEW_IDS, []).extend(ids)


def deliver_committed(session: Session) -> None:
    """The commit pipeline's last stage: deliver the messages the transaction wrote."""
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
            log.exception("outbox delivery after commit failed", extra={"outbox_message_ids": ids})


def keep_time() -> None:
    """before_request, with background delivery: make sure this process's courier runs (it
    also keeps the clock passes going when no message is sent for a while)."""
    courier.keep_time(current_app._get_current_object())


def _after_rollback(session: Session) -> None:
    session.info.pop(_NEW_IDS, None)


def install_bookkeeping() -> None:
    """Note the outbox rows each transaction writes; forget them when it rolls back."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_rollback", _after_rollback)
