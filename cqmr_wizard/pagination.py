"""Page links that keep the rest of the query string."""

from __future__ import annotations

from collections.abc import Callable

from flask import request, url_for


def page_url_maker(endpoint: str, **values: object) -> Callable[[int], str]:
    """A function giving the URL of page `n` with the current filters."""
    args = {k: v for k, v in request.args.items() if k != "page" and v != ""}

    def page_url(n: int) -> str:
        return url_for(endpoint, **values, **args, page=n)

    return page_url


def page_window(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers to show around `page`, with None where numbers are left out."""
    shown = sorted({1, pages, *range(max(1, page - width), min(pages, page + width) + 1)})
    window: list[int | None] = []
    for n in shown:
        if window and n - (window[-1] or 0) > 1:
            window.append(None)
        window.append(n)
    return window
