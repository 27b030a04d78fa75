"""CSV downloads that a spreadsheet cannot turn into formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from flask import Response, stream_with_context

from .models.base import utcnow

# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell's text, with a leading quote when a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_response(name: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """A CSV attachment named `<name>-<UTC date and time>.csv`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    filename = f"{name}-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_stream(name: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """Like `csv_response`, written out as the rows come (for the audit trail's size)."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([safe_cell(h) for h in header])
        for row in rows:
            writer.writerow([safe_cell(cell) for cell in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"{name}-{utcnow():%Y%m%dT%H%M%SZ}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
