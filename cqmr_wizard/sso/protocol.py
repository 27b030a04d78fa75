"""The one seam between OneHealthPort and the rest of the app: start a sign-in, finish it with a
verified identity. OpenID Connect (sso/oidc.py) or SAML 2.0 (sso/saml.py), chosen by
SSO_PROTOCOL; nothing above this module knows which."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, session

from . import oidc, saml
from .verified import FLOW_KEY, VerifiedIdentity

__all__ = [
    "VerifiedIdentity",
    "clock_leeway",
    "configure",
    "enabled",
    "finish",
    "issuer",
    "name",
    "pending_purpose",
    "start",
]

PROTOCOLS: dict[str, ModuleType] = {"oidc": oidc, "saml": saml}


def _chosen(app: Flask | None = None) -> ModuleType:
    return PROTOCOLS[(app or current_app).config["SSO_PROTOCOL"]]


def configure(app: Flask) -> None:
    """Set up the chosen protocol and let forms post onward to the provider and the CQMR."""
    chosen = _chosen(app)
    chosen.configure(app)
    extra = list(app.config.get("CSP_FORM_ACTION_EXTRA", []))
    # Chromium applies form-action to the redirect after a POST: the provider and the CQMR.
    for url in [*chosen.origins(app), app.config.get("CQMR_INITIATE_LOGIN_URI"), app.config.get("CQMR_URL")]:
        if url:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in extra:
                extra.append(origin)
    app.config["CSP_FORM_ACTION_EXTRA"] = extra


def name() -> str:
    """The protocol in use ("oidc" or "saml"), as the audit trail records a sign-in's method."""
    return current_app.config["SSO_PROTOCOL"]


def enabled() -> bool:
    """True when single sign-on is configured."""
    return _chosen().enabled()


def issuer() -> str | None:
    """Who vouches for identities (OIDC issuer or SAML IdP entity id); None when SSO is off."""
    return _chosen().issuer() if enabled() else None


def clock_leeway() -> int:
    """Seconds of clock skew tolerated on the provider's times."""
    return _chosen().clock_leeway()


def start(
    purpose: str, *, user_id: int | None = None, next_path: str | None = None, reauthenticate: bool = False
) -> Response:
    """Start a sign-in remembered in the session; the redirect to the provider. With
    `reauthenticate` the provider is asked for a fresh login."""
    return _chosen().start(purpose, user_id=user_id, next_path=next_path, reauthenticate=reauthenticate)


def finish() -> tuple[dict[str, Any], VerifiedIdentity]:
    """Check the provider's answer against the session's sign-in (used up either way); return
    that sign-in (purpose, user_id, next, started_at) and who signed in."""
    return _chosen().finish()


def pending_purpose() -> str | None:
    """The purpose of the sign-in this session started, if any."""
    flow = session.get(FLOW_KEY)
    return flow.get("purpose") if isinstance(flow, dict) else None
