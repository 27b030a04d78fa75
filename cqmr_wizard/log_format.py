"""How log lines look: one JSON object a line (LOG_FORMAT="json", for log shippers), or a plain
line for people reading a terminal ("text"). Both carry the id of the request the work is for."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from .request_id import current_request_id

# What every LogRecord has; anything else on a record came from `extra=` and is a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call added with `extra=`."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


def _request_id(record: logging.LogRecord) -> str | None:
    return getattr(record, "request_id", None) or current_request_id()


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, the call's extra
    fields, and the traceback as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,  # which worker: several write to one stream
            "message": record.getMessage(),
        }
        request_id = _request_id(record)
        if request_id:
            line["request_id"] = request_id
        for name, value in extra_fields(record).items():
            if name != "request_id":  # already there when known; a field never hides a core key
                line.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id] message`, then any traceback."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_ref)s] %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _time(record)

    def format(self, record: logging.LogRecord) -> str:
        record.request_ref = _request_id(record) or "-"
        try:
            return super().format(record)
        finally:
            del record.request_ref


def formatter(name: str) -> logging.Formatter:
    """The formatter LOG_FORMAT `name` stands for."""
    return TextFormatter() if name == "text" else JsonFormatter()


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (as the last-resort handler does), so that
    a process that swaps it (a test capturing output) still gets every line."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        """The stream is always the current `sys.stderr`."""


def configure(log_format: str) -> logging.Handler:
    """Log INFO and up to standard error in `log_format`, through one handler of ours on the root
    logger (added once a process; kept when other handlers are there too), and give gunicorn's
    own handlers the same format. Returns that handler."""
    root = logging.getLogger()
    ours = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if ours is None:
        ours = StderrHandler()
        root.addHandler(ours)
    root.setLevel(logging.INFO)
    # fpdf2's font subsetting narrates every agreement PDF at INFO; its warnings still show.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    # pysaml2's schema library notes each schema it reuses.
    logging.getLogger("xmlschema").setLevel(logging.WARNING)
    ours.setFormatter(formatter(log_format))
    for handler in logging.getLogger("gunicorn.error").handlers:
        handler.setFormatter(formatter(log_format))
    return ours
