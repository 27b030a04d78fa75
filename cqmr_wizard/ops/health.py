"""Liveness and readiness, for a load balancer or an orchestrator: /healthz says the process
answers (restart it if not), /readyz whether it can serve now (send it traffic if so)."""

from __future__ import annotations

from flask import Response, jsonify

from ..access import Access, allow
from . import bp
from .readiness import readiness


def _uncached(response: Response, status: int) -> tuple[Response, int]:
    response.headers["Cache-Control"] = "no-store"
    return response, status


@bp.route("/healthz")
@allow(Access.PUBLIC)
def healthz():
    """Liveness: the process answers requests. Touches no database or other server, so that a
    database outage takes instances out of the pool (readiness) without restarting them all."""
    return _uncached(jsonify(status="ok"), 200)


@bp.route("/readyz")
@allow(Access.PUBLIC)
def readyz():
    """Readiness: 200 when every required part answers, 503 naming the part that does not."""
    ready, checks = readiness()
    return _uncached(jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503)
