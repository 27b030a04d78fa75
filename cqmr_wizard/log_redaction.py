"""Secrets never reach a log line: the token segments of mailed links (verification, password
reset, invitation), OpenID Connect `code`/`state` values, other token or secret query
parameters and `password=` values are replaced by "[redacted]" in everything the app and
gunicorn write, in the message, its traceback and the fields of a JSON line."""

from __future__ import annotations

import logging
import os
import re

from gunicorn.glogging import Logger

from .log_format import extra_fields, formatter

REDACTED = "[redacted]"

# Paths whose last segment is a mailed secret (not a route's `<token>` placeholder), and query
# parameters that carry one.
_TOKEN_PATH = re.compile(
    r"((?<!/team)/(?:verify-email|reset-password|unlock-account|invitations)/)(?!resend\b|<)[^/?#\s\"']+"
)
_SECRET_QUERY = re.compile(
    r"([?&](?:code|state|session_state|[\w.-]*token|[\w.-]*secret|password|passwd)=)[^&#\s\"']+",
    re.IGNORECASE,
)
# `password=…` or `password: …` anywhere in a message (a form or settings dump).
_PASSWORD_VALUE = re.compile(r"(\b(?:password|passwd)\b\s*[=:]\s*)[^\s,;&\"'}]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every token segment and secret value replaced by "[redacted]"."""
    text = _TOKEN_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _PASSWORD_VALUE.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts the formatted message, its traceback text and the string
    fields the log call added."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the redacting filter on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


class RedactingGunicornLogger(Logger):
    """gunicorn's logger with token segments redacted from its lines, which it writes in
    LOG_FORMAT (from the environment; the app's own setting applies once a worker loads it)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter(os.environ.get("LOG_FORMAT", "json")))
        install(self.error_log)
        install(self.access_log)

    def atoms(self, resp, req, environ, request_time) -> dict:
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }
