"""/metrics for Prometheus, behind a bearer token (METRICS_TOKEN; unset: no such page).

Under gunicorn every worker writes its counters to PROMETHEUS_MULTIPROC_DIR and the worker
that serves the scrape adds them all up; elsewhere this process's registry is the whole story.
The database's gauges are read by whichever worker serves the scrape."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

import prometheus_client
from flask import Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from ..access import Access, allow
from ..outbox.delivery import HANDLERS
from . import bp
from .collector import DatabaseCollector


class _ThisProcess:
    """This process's own registry, as one collector of the scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        return prometheus_client.REGISTRY.collect()


def _authorized(token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared in constant time: how long a refusal takes says nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def scrape_registry() -> CollectorRegistry:
    """Every metric this scrape reports: the counters (all workers' under gunicorn), and the
    gauges read from the database."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector(HANDLERS))
    return registry


@bp.route("/metrics")
@allow(Access.PUBLIC)  # the bearer token is the protection, not a session
def metrics():
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    if not _authorized(token):
        return Response(
            "A bearer token is required.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            mimetype="text/plain",
        )
    response = Response(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
