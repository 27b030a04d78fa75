"""One log line per request (logger `cqmr_wizard.request`, INFO): its id, method, route and
path, status, duration and the signed-in user's id. Never the query string, the body, cookies
or headers, where tokens, codes and passwords travel."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from flask_login import AnonymousUserMixin
from sqlalchemy import inspect

from .request_id import HEADER, assign, current_request_id

log = logging.getLogger("cqmr_wizard.request")


def _signed_in_user_id() -> int | None:
    # Only a user this request already loaded, and their id from the identity map: asking
    # Flask-Login, or reading an attribute a commit expired, would query the database (for
    # every static file, and failing during an outage).
    user = g.get("_login_user")
    if user is None or isinstance(user, AnonymousUserMixin):
        return None
    state = inspect(user, raiseerr=False)
    identity = state.identity if state is not None else None
    return identity[0] if identity else None


def register_request_log(app: Flask) -> None:
    """Give each request its id (register before any other request hook, so every hook and
    error page sees it), return it as `X-Request-ID`, and log the request once it ends."""
    trusted = bool(app.config.get("PROXY_COUNT"))

    @app.before_request
    def start_request() -> None:
        g.request_started = time.perf_counter()
        assign(request.headers.get(HEADER), trusted=trusted)

    @app.after_request
    def note_response(response: Response) -> Response:
        # After-request hooks run last-registered first: this one sees the final response.
        # An error page made after a failing hook passes here again, and its status wins.
        g.response_status = response.status_code
        request_id = current_request_id()
        if request_id:
            response.headers[HEADER] = request_id
        return response

    @app.teardown_request
    def log_request(error: BaseException | None) -> None:
        started = g.get("request_started")
        if started is None:  # the request ended before its first hook ran
            return
        status = g.get("response_status", 500)
        rule = request.url_rule
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "method": request.method,
                "route": rule.rule if rule is not None else None,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_id": _signed_in_user_id(),
            },
        )
