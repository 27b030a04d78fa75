"""Branded error pages that leak nothing."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta

from flask import Flask, render_template
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db, limiter
from .models.base import utcnow
from .outages import outage_in, unavailable_response
from .request_id import current_request_id

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        "Something went wrong with that page",
        "What was sent could not be used, and nothing was changed. Go back, reload the page and try again.",
    ),
    403: (
        "You do not have permission to see this page",
        "If you think you should, ask your organization's administrator.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted it, check you copied the whole address.",
    ),
    405: ("That action is not allowed here", "Go back and use the buttons on the page."),
    409: (
        "This changed while you were working",
        "Reload the page to see the latest version, then try again.",
    ),
    410: ("This link can no longer be used", "Ask for a new one."),
    413: ("The file or form is too large", "Send something smaller and try again."),
    429: (
        "Too many attempts",
        "This page was used too many times from your network in a short time, so it is paused "
        "for a while to protect everyone's accounts. Nothing you had saved has been lost.",
    ),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you had saved has been lost.",
    ),
}


def error_page(code: int, detail: str | None = None, title: str | None = None) -> tuple[str, int]:
    """The branded page for an HTTP error; `detail` and `title` replace the usual words. A 500
    page shows the request id its log line carries, for the person to quote."""
    default_title, body = MESSAGES.get(code, MESSAGES[500])
    reference = current_request_id() if code == 500 else None
    return render_template(
        "errors/error.html", code=code, title=title or default_title, body=detail or body, reference=reference
    ), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_page(
            400,
            "For your security, a form stops working when it has been open a long time or was "
            "not sent from this site. Your answers on that page were not saved. Go back, reload "
            "the page and enter them again.",
            title="This page has expired",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code not in MESSAGES:
            return error
        if isinstance(error, RateLimitExceeded):
            return too_many_requests()
        response = error_page(error.code, getattr(error, "cqmr_detail", None))
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    def too_many_requests():
        retry_at = retry_time()
        page, status = error_page(429, f"{MESSAGES[429][1]} {when_to_retry(retry_at)}")
        seconds = max(1, math.ceil((retry_at - utcnow()).total_seconds()))
        return page, status, {"Retry-After": str(seconds)}

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        outage = outage_in(error)
        if outage is not None:  # the database or Redis is away: a 503 that needs neither
            return unavailable_response(outage)
        log.exception("unhandled error")
        db.session.rollback()
        return error_page(500)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        outage = outage_in(error.original_exception)
        if outage is not None:
            return unavailable_response(outage)
        db.session.rollback()
        return error_page(500)


def retry_time() -> datetime:
    """When the per-source limit this request broke lets it through again."""
    current = limiter.current_limit
    if current is None:
        return utcnow() + timedelta(minutes=1)
    return datetime.fromtimestamp(current.reset_at, UTC)


def when_to_retry(retry_at: datetime) -> str:
    """'Try again after 14:05 UTC (in about 3 minutes).'"""
    seconds = max(1, math.ceil((retry_at - utcnow()).total_seconds()))
    if seconds < 60:
        span = "1 second" if seconds == 1 else f"{seconds} seconds"
    else:
        minutes = math.ceil(seconds / 60)
        span = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"Try again after {retry_at:%H:%M:%S} UTC (in about {span})."
