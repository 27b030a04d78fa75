"""The before_request hook that applies `access.decide()` to every request: wiring create_app
registers, above the features (it sends a half-signed-in person to the second factor's pages)."""

from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for

from .access import REFUSALS, AccessRefused, request_verdict, view_access
from .mfa.services import second_factor_url
from .security import safe_next_path
from .views import offboarded_page


def enforce_access() -> object | None:
    """before_request hook: answer the verdict on this request."""
    verdict = request_verdict()
    if request.endpoint is None:
        return None  # routing failed; Flask answers 404/405
    if verdict in REFUSALS:
        raise AccessRefused(view_access(request.endpoint), verdict)
    if verdict == "offboarded":
        # One page on every route (no blueprint words it otherwise), answered here.
        return offboarded_page(g.membership.organization)
    if verdict == "tasks":
        return redirect(url_for("main.tasks"))
    if verdict == "add_passkey":
        who = "Registry operators" if g.membership is None else "Members of your organization"
        flash(
            f"{who} must sign in with a passkey. Confirm it is you, then add one (or confirm with "
            "the one you have): you can use nothing else until you do.",
            "warning",
        )
        return redirect(url_for("mfa.add_passkey"))
    if verdict == "second_factor":
        return redirect(second_factor_url())
    if verdict == "sign_in":
        if session.get("_expired"):
            flash(
                "Your session ended because it was left unused, to keep your organization's "
                "information safe. Sign in again to carry on: your answers are saved.",
                "info",
            )
        # Only a page can be returned to; a form's POST address answers GET with 405.
        back = safe_next_path(request.full_path) if request.method in ("GET", "HEAD") else None
        return redirect(url_for("auth.sign_in", next=back))
    return None
