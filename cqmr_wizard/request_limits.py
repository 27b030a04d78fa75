"""Larger request bodies for the few upload views, set before CSRF protection reads the body."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request

F = TypeVar("F", bound=Callable)


def accepts_upload(max_bytes: Callable[[], int]) -> Callable[[F], F]:
    """Let a view's requests be up to `max_bytes()` long instead of MAX_CONTENT_LENGTH."""

    def decorate(view: F) -> F:
        view.max_request_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return decorate


def apply_upload_limit() -> None:
    """before_request hook: lift this request's size limit when its view accepts an upload."""
    max_bytes = getattr(current_app.view_functions.get(request.endpoint or ""), "max_request_bytes", None)
    if max_bytes is not None:
        request.max_content_length = max_bytes()


def register_upload_limits(app: Flask) -> None:
    """Run the hook first: app hooks run before blueprint hooks, and CSRFProtect's reads the form."""
    app.before_request_funcs.setdefault(None, []).insert(0, apply_upload_limit)
