"""Outages of the database or Redis: recognised precisely and answered with a 503 page that
needs neither (no query, no session, no layout), with `Retry-After` — never a 500. A programming
error stays a 500: only a failed or timed-out connection, or a store that cannot be reached,
counts as an outage."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import redis.exceptions
from flask import Response, current_app, g, request, session
from limits.errors import StorageError
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import exc as sa

from .extensions import db, login_manager

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable)

# A lost connection, a refused or timed-out connection attempt, a pool that handed out no
# connection in time: the server is away, not the code wrong. (IntegrityError, ProgrammingError
# and the like are not here: they stay 500s.)
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.DisconnectionError,
    sa.TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def outage_in(error: BaseException | None) -> BaseException | None:
    """The outage behind `error` (itself, a cause, or what it was raised while handling), if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OUTAGE_ERRORS):
            return error
        if isinstance(error, StorageError):  # a rate-limit store that wraps what it met
            error = error.storage_error
            continue
        error = error.__cause__ or error.__context__
    return None


def outage_or_raise(error: BaseException) -> BaseException:
    """The outage behind `error`; `error` itself raised again when it is no outage."""
    outage = outage_in(error)
    if outage is None:
        raise error
    return outage


def redis_client_options(timeout: float) -> dict[str, Any]:
    """Keyword arguments for a Redis client whose every attempt gives up after `timeout` seconds:
    one quick retry (a pooled connection Redis dropped is replaced), not redis-py's ten."""
    return {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 1),
    }


def keeps_working(view: F) -> F:
    """Declare that a public view answers without a session, so it keeps working while the
    session store is down (as a signed-out visitor sees it)."""
    view.keeps_working = True  # type: ignore[attr-defined]
    return view


def refuse_during_session_outage() -> Response | None:
    """before_request, before CSRF and the rate limits (neither works without the session
    store): while the session could not be read, answer 503 on every page but those declared
    `keeps_working` (and unknown addresses, which answer their 404 without a session)."""
    error = getattr(session, "outage", None)
    if error is None or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if request.endpoint == "static" or getattr(view, "keeps_working", False):
        return None
    return unavailable_response(error)


def keep_retry_after(response: Response) -> Response:
    """after_request, running after the rate limiter's (which sets Retry-After to its window's
    end on every throttled form): the outage page keeps the Retry-After it states."""
    if g.get("outage_retry_after") is not None:
        response.headers["Retry-After"] = g.outage_retry_after
    return response


def unavailable_response(error: BaseException) -> Response:
    """The 503 page, built from the static files and the configuration alone; logs one line."""
    log.warning(
        "outage: %s %s answered 503 (%s: %s)",
        request.method,
        request.path,
        type(error).__name__,
        str(error).splitlines()[0] if str(error) else "",
    )
    _roll_back()
    # Whoever this is cannot be looked up now: later hooks (the security headers) see an
    # anonymous visitor instead of asking the database again.
    g._login_user = login_manager.anonymous_user()
    seconds = int(current_app.config["OUTAGE_RETRY_AFTER"])
    g.outage_retry_after = str(seconds)
    page = current_app.jinja_env.get_template("errors/unavailable.html").render(
        posted=request.method not in ("GET", "HEAD", "OPTIONS"),
        retry_after=_span(seconds),
        contact_email=current_app.config["PROGRAM_CONTACT_EMAIL"],
        contact_phone=current_app.config["PROGRAM_CONTACT_PHONE"],
        contact_hours=current_app.config["PROGRAM_CONTACT_HOURS"],
    )
    return Response(
        page,
        503,
        {"Retry-After": str(seconds), "Cache-Control": "no-store"},
        mimetype="text/html",
    )


def become_unavailable(response: Response, error: BaseException) -> None:
    """Turn an answer already made (whose session could not be kept) into the 503 page, keeping
    the security headers already set on it."""
    replacement = unavailable_response(error)
    for header in ("Location", "Set-Cookie", "Content-Disposition"):
        response.headers.pop(header, None)
    response.direct_passthrough = False
    response.status_code = replacement.status_code
    response.set_data(replacement.get_data())
    for header in ("Content-Type", "Retry-After", "Cache-Control"):
        response.headers[header] = replacement.headers[header]


def _roll_back() -> None:
    try:
        db.session.rollback()
    except OUTAGE_ERRORS:
        # The connection is already gone; the pool has invalidated it and the session is clean.
        db.session.close()


def _span(seconds: int) -> str:
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = -(-seconds // 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
