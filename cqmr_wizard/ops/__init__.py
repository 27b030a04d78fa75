"""Operations endpoints for load balancers and monitoring: liveness (/healthz), readiness
(/readyz) and Prometheus metrics (/metrics)."""

from flask import Blueprint

from ..extensions import csrf, limiter

bp = Blueprint("ops", __name__)
# Probes and scrapes come often, post no form and carry no session: a rate limit would take a
# healthy instance out of its pool, and CSRF has nothing to protect here.
csrf.exempt(bp)
limiter.exempt(bp)

# The session interface neither reads nor writes a session for these (server_sessions.py): a
# liveness probe never touches the database, and no probe gets or refreshes a cookie.
SESSIONLESS_PATHS = ("/healthz", "/readyz", "/metrics")

from . import health, metrics  # noqa: E402,F401
