"""The coloured tags that show a status, rendered in Python: a page such as the team or the
dashboard shows dozens, and a Jinja macro call costs more than the tag itself."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from flask import Flask
from markupsafe import Markup, escape

# Colours keyed by the status itself (the Status member's name, or a readiness key), never by its words.
STATUS_COLORS = {
    "COMPLETED": "bg-green",
    "IN_PROGRESS": "bg-primary",
    "NOT_STARTED": "bg-base-dark",
    "WAITING": "bg-gold text-ink",
    "CANNOT_START": "bg-base-lighter text-ink",
    "ready": "bg-green",
    "not_ready": "bg-gold text-ink",
    "invited": "bg-primary",
    "deactivated": "bg-secondary-dark",
    "expired": "bg-base-dark",
}

YES = Markup('<span class="usa-tag bg-green">Yes</span>')
NO = Markup('<span class="usa-tag bg-base-lighter text-ink">No</span>')


class _Status(Protocol):
    name: str
    value: str


def tag(key: object, text: object) -> Markup:
    """A tag coloured by `key` (a status name or readiness key) showing `text`."""
    # The line breaks and indent are those the `status_tag` and `tag` macros wrote, kept so that
    # every page's HTML stays the same. The colour is one of ours and the text is escaped: an
    # f-string costs a fifth of Markup.format.
    color = STATUS_COLORS.get(key, "")  # type: ignore[call-overload]
    return Markup(f'\n  <span class="usa-tag {color} cqmr-task-status">{escape(text)}</span>\n')  # noqa: S704


@cache
def status_tag(status: _Status) -> Markup:
    """A task status as a tag (a few statuses, each rendered once per process)."""
    return tag(status.name, status.value)


def yes_no(value: object) -> Markup:
    """A green "Yes" tag for a true value, a grey "No" for a false one."""
    return YES if value else NO


def register_status_tags(app: Flask) -> None:
    """Make the tags available to every template (macros.html exports them under the same names)."""
    app.jinja_env.globals.update(status_tag_html=status_tag, tag_html=tag, yes_no=yes_no)
