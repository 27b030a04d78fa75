"""Each request's id, which ties its log line to the mail, CQMR calls and audit events it caused.

The id is the trusted proxy's `X-Request-ID` when one is configured and the value is sane,
otherwise a fresh one. Work done later on a request's behalf (delivering its outbox messages,
perhaps on another thread or host) carries that request's id with `carrying`."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context

HEADER = "X-Request-ID"
MAX_LENGTH = 128
_SANE = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_LENGTH}}}")

_carried: ContextVar[str | None] = ContextVar("cqmr_carried_request_id", default=None)


def is_sane(value: str | None) -> bool:
    """Whether `value` may be used as a request id as it is (1–128 of `A-Za-z0-9._:-`)."""
    return value is not None and _SANE.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex


def assign(incoming: str | None, *, trusted: bool) -> str:
    """Give the current request its id: `incoming` (from a trusted proxy) if sane, else a new one."""
    request_id = incoming if trusted and is_sane(incoming) else new_request_id()
    g.request_id = request_id
    return request_id


def current_request_id() -> str | None:
    """The id of the request this work is done for: the one being carried, else the current
    request's; None outside both."""
    carried = _carried.get()
    if carried:
        return carried
    if has_request_context():
        return g.get("request_id")
    return None


@contextmanager
def carrying(request_id: str | None) -> Iterator[None]:
    """Within this block, `current_request_id()` is `request_id` (work done for that request)."""
    token = _carried.set(request_id)
    try:
        yield
    finally:
        _carried.reset(token)
