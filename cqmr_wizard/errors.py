"""Branded error pages that leak nothing."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

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
    429: ("Too many requests", "Wait a little, then try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you had saved has been lost.",
    ),
}


def register_error_handlers(app: Flask) -> None:
    def render(code: int, detail: str | None = None, title: str | None = None):
        default_title, body = MESSAGES.get(code, MESSAGES[500])
        return render_template(
            "errors/error.html", code=code, title=title or default_title, body=detail or body
        ), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render(
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
        response = render(error.code, getattr(error, "cqmr_detail", None))
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error")
        db.session.rollback()
        return render(500)

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError):
        db.session.rollback()
        return render(500)
