"""Jinja filters every page uses: dates and times as people in Oregon read them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup, escape

from .pagination import page_window

PACIFIC = ZoneInfo("America/Los_Angeles")
# What "%B" gives in the C locale, without a strftime call per date.
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def to_pacific(value: datetime) -> datetime:
    """The moment in Pacific time; a naive value (SQLite) is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(PACIFIC)


def when_text(value: datetime | date | None, time: bool = False) -> str:
    """ "November 30, 2026", or with `time` "November 30, 2026 at 9:05 a.m. PST"."""
    if value is None:
        return "—"
    if not isinstance(value, datetime):
        return f"{MONTHS[value.month - 1]} {value.day}, {value.year}"
    local = to_pacific(value)
    text = f"{MONTHS[local.month - 1]} {local.day}, {local.year}"
    if time:
        hour = local.hour % 12 or 12
        text += f" at {hour}:{local.minute:02d} {'a.m.' if local.hour < 12 else 'p.m.'} {local.tzname()}"
    return text


def when(value: datetime | date | None, time: bool = False) -> Markup:
    """A <time> element showing `when_text`, with the exact UTC moment for machines."""
    if value is None:
        return Markup("—")
    stamp = (
        value.replace(tzinfo=value.tzinfo or UTC).isoformat()
        if isinstance(value, datetime)
        else value.isoformat()
    )
    # Both parts escaped: the markup Markup.format would give, at a third of its cost (every list
    # page calls this once a row).
    return Markup(f'<time datetime="{escape(stamp)}">{escape(when_text(value, time))}</time>')  # noqa: S704


def register_filters(app: Flask) -> None:
    """Make the filters available to every template."""
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["when_text"] = when_text
    app.jinja_env.globals["page_window"] = page_window
