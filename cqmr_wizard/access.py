"""Who may use each route. Every view declares one `Access` level; undeclared views are refused."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, flash, g, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from .security import safe_next_path

F = TypeVar("F", bound=Callable)


class Access(enum.Enum):
    PUBLIC = "anyone"
    ANONYMOUS = "signed-out visitors"
    SIGNED_IN = "signed in, second factor not yet given"
    USER = "signed in with both factors"
    MEMBER = "member of an organization"
    ORG_ADMIN = "organization administrator"
    SIGNER = "authorized signer"
    OPERATOR = "registry operator"


def allow(level: Access) -> Callable[[F], F]:
    """Declare who may use a view."""

    def decorate(view: F) -> F:
        view.access = level  # type: ignore[attr-defined]
        return view

    return decorate


# Levels that act inside an organization: registry operators are never members.
ORGANIZATION_LEVELS = (Access.MEMBER, Access.ORG_ADMIN, Access.SIGNER)


def not_for_operators(view: F) -> F:
    """Refuse registry operators on a USER-level view that starts or joins an organization."""
    view.refuses_operators = True  # type: ignore[attr-defined]
    return view


def view_access(endpoint: str | None) -> Access | None:
    """Return the declared access level of an endpoint, or None if it declares none."""
    if endpoint is None:
        return None
    if endpoint == "static":
        return Access.PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def fully_authenticated() -> bool:
    """True when the session has passed both factors (never outside a request: a mail sent
    from a command renders templates with no one signed in)."""
    if not has_request_context():
        return False
    return current_user.is_authenticated and session.get("auth_level") == "full"


def enforce_access() -> object | None:
    """before_request hook: apply the endpoint's declared level."""
    if request.endpoint is None:
        return None  # routing failed; Flask answers 404/405
    level = view_access(request.endpoint)
    if level is None:
        abort(403)
    if level is Access.PUBLIC:
        return None
    if level is Access.ANONYMOUS:
        if current_user.is_authenticated:
            return redirect(url_for("main.tasks"))
        return None
    if not current_user.is_authenticated:
        if session.get("_expired"):
            flash(
                "Your session ended because it was left unused, to keep your organization's "
                "information safe. Sign in again to carry on: your answers are saved.",
                "info",
            )
        # Only a page can be returned to; a form's POST address answers GET with 405.
        back = safe_next_path(request.full_path) if request.method in ("GET", "HEAD") else None
        return redirect(url_for("auth.sign_in", next=back))
    if level is Access.SIGNED_IN:
        return None
    if not fully_authenticated():
        return redirect(current_app.extensions["cqmr_second_factor_url"]())
    membership = g.get("membership")
    if getattr(current_user, "is_operator", False) and (
        level in ORGANIZATION_LEVELS
        or getattr(current_app.view_functions[request.endpoint], "refuses_operators", False)
    ):
        abort(403)
    if level is Access.USER:
        return None
    if level is Access.OPERATOR:
        if not getattr(current_user, "is_operator", False):
            abort(403)
        return None
    if membership is None:
        return redirect(url_for("main.tasks"))
    if level is Access.ORG_ADMIN and not membership.has_role("admin"):
        abort(403)
    if level is Access.SIGNER and not membership.has_role("signer"):
        abort(403)
    return None
