"""Security headers, CSP nonces and safe redirects."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, request
from flask_login import current_user
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

# The largest value of an INTEGER column on PostgreSQL (and what every id here fits in).
MAX_DATABASE_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in every route: 0 up to the database's integer range; anything else (huge,
    negative, not a number) is a 404 before any query is made."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_DATABASE_INT)
        kwargs["max"] = sorted((kwargs["max"], MAX_DATABASE_INT))[0]
        super().__init__(map, *args, **kwargs)


def bounded_int_arg(name: str, default: int, *, low: int = 1, high: int = MAX_DATABASE_INT) -> int:
    """An integer query parameter between `low` and `high`; anything else is a 400 that says so."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        error = BadRequest()
        error.cqmr_detail = f"“{name}” in the address must be a whole number from {low} to {high}."
        raise error
    return int(raw)


def safe_next_path(target: str | None) -> str | None:
    """Return `target` only if it is a path on this site; otherwise None."""
    if not target:
        return None
    target = target.strip()
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target.rstrip("?") or "/"


def register_security(app: Flask) -> None:
    """Give every request a CSP nonce, and every response strict headers."""

    @app.before_request
    def assign_nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.after_request
    def set_headers(response: Response) -> Response:
        nonce = g.get("csp_nonce", "")
        form_targets = " ".join(["'self'", *app.config.get("CSP_FORM_ACTION_EXTRA", [])])
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; "
            f"form-action {form_targets}; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config.get("HSTS"):
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint != "static" and (
            current_user.is_authenticated or request.method != "GET" or "Set-Cookie" in response.headers
        ):
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        return response
