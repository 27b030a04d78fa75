"""Secrets never reach a log line: the token segments of mailed links (verification, password
reset, invitation) and OpenID Connect `code`/`state` values are replaced by "[redacted]" in
everything the app and gunicorn write."""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"

# Paths whose last segment is a mailed secret, and query parameters that carry one.
_TOKEN_PATH = re.compile(
    r"((?<!/team)/(?:verify-email|reset-password|unlock-account|invitations)/)(?!resend\b)[^/?#\s\"']+"
)
_SECRET_QUERY = re.compile(r"([?&](?:code|state|token|session_state)=)[^&#\s\"']+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every token segment replaced by "[redacted]"."""
    text = _TOKEN_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    return _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts the formatted message (and its traceback text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the redacting filter on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class RedactingGunicornLogger(Logger):
    """gunicorn's logger with token segments redacted from access and error lines."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        install(self.error_log)
        install(self.access_log)

    def atoms(self, resp, req, environ, request_time) -> dict:
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }
