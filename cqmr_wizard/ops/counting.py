"""What is counted as it happens: every request (by URL rule, method and status, and how long
it took), and the committed audit events the sign-in and gate counters are derived from."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from sqlalchemy.orm import Session

from ..audit import committed_event_types
from ..audit.events import AuditEventType
from ..instruments import (
    gate_opens,
    gate_refusals,
    http_request_duration,
    http_requests,
    sign_in_failures,
)

# Any other method a client sends is one label, not a new series per made-up word.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"  # 404 and 405: no URL rule, and the raw path is never a label

GATE_REFUSAL_REASONS = {
    AuditEventType.GATE_REFUSED.value: "tasks_missing",
    AuditEventType.GATE_UNAVAILABLE.value: "not_configured",
}


def register_request_metrics(app: Flask) -> None:
    """Count and time every request; registered before any other hook, so that a request an
    earlier hook answers (a redirect to sign in, a 429) is timed too."""
    app.before_request(_start)
    app.after_request(_observe)  # after-request hooks run in reverse: this one runs last


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else "OTHER"
    http_requests.labels(route, method, str(response.status_code)).inc()
    started = g.pop("metrics_started", None)
    if started is not None:
        http_request_duration.labels(route, method).observe(time.perf_counter() - started)
    return response


def count_committed_events(session: Session) -> None:
    """The commit pipeline's "metrics" stage, after the commit: count the audit events it
    committed (a rolled-back attempt counts nothing)."""
    for event_type in committed_event_types(session):
        if event_type == AuditEventType.AUTH_SIGN_IN_FAILED.value:
            sign_in_failures.inc()
        elif event_type == AuditEventType.GATE_REDIRECTED.value:
            gate_opens.inc()
        elif event_type in GATE_REFUSAL_REASONS:
            gate_refusals.labels(GATE_REFUSAL_REASONS[event_type]).inc()
