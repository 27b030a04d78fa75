"""The OpenID Connect client for OneHealthPort: authorization requests bound to the session,
and answers that are only believed after the ID token has been verified."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from authlib.oidc.core import CodeIDToken
from flask import Flask, current_app, session
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from ..mail import external_url

FLOW_KEY = "sso_flow"
CLIENT_KEY = "cqmr_oidc_client"
METADATA_MAX_AGE = 3600  # seconds before the provider's metadata and keys are fetched again

# reason → (HTTP status, what the person is told)
PROBLEMS: dict[str, tuple[int, str]] = {
    "not_configured": (503, "Signing in with OneHealthPort is not set up on this service yet."),
    "unreachable": (502, "OneHealthPort could not be reached. Try again in a few minutes."),
    "bad_provider": (
        502,
        "OneHealthPort gave an answer this service cannot use. Try again "
        "later; if it keeps happening, contact the CQMR team.",
    ),
    "access_denied": (
        403,
        "You did not finish signing in with OneHealthPort, or did not allow "
        "this service to use your OneHealthPort account. Nothing was changed.",
    ),
    "provider_error": (400, "OneHealthPort could not complete the sign-in. Start again."),
    "state_mismatch": (
        400,
        "This sign-in answer does not belong to a sign-in started in this "
        "browser, or it has already been used. Start again.",
    ),
    "flow_expired": (400, "Signing in took too long. Start again."),
    "token_refused": (400, "OneHealthPort refused to complete this sign-in. Start again."),
    "invalid_id_token": (
        401,
        "OneHealthPort's answer could not be verified, so it was not "
        "used. Start again; if it keeps happening, contact the CQMR team.",
    ),
}


class SsoError(Exception):
    """The single sign-on could not be completed; `reason` is a key of PROBLEMS."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.status, self.message = PROBLEMS[reason]


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider says signed in, after every check passed."""

    issuer: str
    subject: str
    email: str | None
    name: str | None
    ohp_org_id: str | None
    ohp_org_name: str | None
    auth_time: int | None


def configure(app: Flask) -> None:
    """Build this app's client (no network) and let forms post onward to the provider."""
    issuer = app.config.get("OIDC_ISSUER")
    extra = list(app.config.get("CSP_FORM_ACTION_EXTRA", []))
    # Chromium applies form-action to the redirect after a POST: the provider and the CQMR.
    for key in ("OIDC_ISSUER", "CQMR_INITIATE_LOGIN_URI", "CQMR_URL"):
        if app.config.get(key):
            parts = urlsplit(app.config[key])
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in extra:
                extra.append(origin)
    app.config["CSP_FORM_ACTION_EXTRA"] = extra
    if not issuer:
        app.extensions[CLIENT_KEY] = None
        return
    # One client per app: Authlib's registry is process-wide and would share one configuration.
    app.extensions[CLIENT_KEY] = FlaskOAuth2App(
        FlaskIntegration("onehealthport"),
        "onehealthport",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config.get("OIDC_METADATA_URL")
        or issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": app.config["OIDC_TIMEOUT"],
        },
    )


def enabled() -> bool:
    """True when single sign-on is configured."""
    return current_app.extensions.get(CLIENT_KEY) is not None


def _client() -> FlaskOAuth2App:
    client = current_app.extensions.get(CLIENT_KEY)
    if client is None:
        raise SsoError("not_configured")
    return client


def metadata() -> dict[str, Any]:
    """The provider's discovery document, checked to belong to the configured issuer."""
    client = _client()
    loaded_at = client.server_metadata.get("_loaded_at")
    if loaded_at and time.time() - loaded_at > METADATA_MAX_AGE:
        client.server_metadata.clear()
    try:
        data = client.load_server_metadata()
    except requests.ConnectionError as error:
        raise SsoError("unreachable", type(error).__name__) from error
    except requests.Timeout as error:
        raise SsoError("unreachable", "timeout") from error
    except (requests.RequestException, ValueError, TypeError) as error:
        client.server_metadata.clear()
        raise SsoError("bad_provider", f"metadata: {type(error).__name__}") from error
    issuer = current_app.config["OIDC_ISSUER"]
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not data.get(k)]
    if data.get("issuer") != issuer or missing:
        client.server_metadata.clear()
        detail = f"issuer {data.get('issuer')!r} is not {issuer!r}" if not missing else f"missing {missing}"
        raise SsoError("bad_provider", detail)
    return data


def start(
    purpose: str, *, user_id: int | None = None, next_path: str | None = None, reauthenticate: bool = False
) -> str:
    """Remember a new authorization request in the session and return where to send the browser."""
    metadata()
    extra: dict[str, Any] = {}
    if reauthenticate:
        extra = {"prompt": "login", "max_age": 0}
    redirect_uri = external_url("sso.callback")
    try:
        request = _client().create_authorization_url(redirect_uri, **extra)
    except requests.RequestException as error:
        raise SsoError("unreachable", type(error).__name__) from error
    session[FLOW_KEY] = {
        "state": request["state"],
        "nonce": request["nonce"],
        "code_verifier": request["code_verifier"],
        "redirect_uri": redirect_uri,
        "purpose": purpose,
        "user_id": user_id,
        "next": next_path,
        "reauthenticate": reauthenticate,
        "started_at": time.time(),
    }
    return request["url"]


def pending_purpose() -> str | None:
    """The purpose of the sign-in this session started, if any."""
    flow = session.get(FLOW_KEY)
    return flow.get("purpose") if isinstance(flow, dict) else None


def finish(args: dict[str, str]) -> tuple[dict[str, Any], VerifiedIdentity]:
    """Check the provider's answer against the session's request; return the request and who
    signed in. The request is used up either way, so an answer can never be replayed."""
    flow = session.pop(FLOW_KEY, None)
    state = args.get("state") or ""
    if not isinstance(flow, dict) or not hmac.compare_digest(str(flow.get("state", "")), state):
        raise SsoError("state_mismatch")
    if time.time() - flow["started_at"] > current_app.config["OIDC_FLOW_TTL"].total_seconds():
        raise SsoError("flow_expired")
    issuer = current_app.config["OIDC_ISSUER"]
    if args.get("iss") is not None and args["iss"] != issuer:  # RFC 9207 mix-up defence
        raise SsoError("invalid_id_token", "authorization response iss")
    if args.get("error"):
        reason = "access_denied" if args["error"] == "access_denied" else "provider_error"
        raise SsoError(reason, args["error"][:64])
    if not args.get("code"):
        raise SsoError("provider_error", "no code")
    client = _client()
    try:
        token = client.fetch_access_token(
            redirect_uri=flow["redirect_uri"], code=args["code"], code_verifier=flow["code_verifier"]
        )
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SsoError("unreachable", type(error).__name__) from error
    except AuthlibBaseError as error:
        raise SsoError("token_refused", str(getattr(error, "error", "")) or "token") from error
    except (requests.RequestException, ValueError, TypeError) as error:
        raise SsoError("bad_provider", "token response") from error
    claims = validate_id_token(token, flow["nonce"], max_age=0 if flow["reauthenticate"] else None)
    profile = _userinfo(token, claims["sub"])
    merged = {**claims, **profile}
    return flow, VerifiedIdentity(
        issuer=issuer,
        subject=claims["sub"],
        email=_text(merged.get("email"), 254),
        name=_text(merged.get("name"), 200),
        ohp_org_id=_text(merged.get("ohp_org_id"), 128),
        ohp_org_name=_text(merged.get("ohp_org_name"), 200),
        auth_time=claims.get("auth_time"),
    )


def validate_id_token(token: dict[str, Any], nonce: str, max_age: int | None = None) -> dict[str, Any]:
    """Verify the ID token's signature (provider JWKS) and its issuer, audience, times and nonce."""
    if not token.get("id_token"):
        raise SsoError("invalid_id_token", "no id_token")
    config = current_app.config
    algorithms = config["OIDC_ID_TOKEN_ALGS"]
    try:
        try:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(_keys()), algorithms)
        except InvalidKeyIdError:
            decoded = jwt.decode(token["id_token"], KeySet.import_key_set(_keys(force=True)), algorithms)
        client_id = config["OIDC_CLIENT_ID"]
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "values": [config["OIDC_ISSUER"]]},
                # Exactly this client: an extra audience would be a party this service does not trust.
                "aud": {
                    "essential": True,
                    "values": [client_id],
                    "validate": lambda _c, v: v == client_id or v == [client_id],
                },
                "sub": {"essential": True},
                "exp": {"essential": True},
                "iat": {"essential": True},
            },
            {
                "nonce": nonce,
                "client_id": client_id,
                "access_token": token.get("access_token"),
                "max_age": max_age,
            },
        )
        claims.validate(leeway=config["OIDC_CLOCK_LEEWAY"])
    except JoseError as error:
        raise SsoError("invalid_id_token", f"{type(error).__name__}: {error}"[:200]) from error
    except (ValueError, TypeError, KeyError) as error:
        raise SsoError("invalid_id_token", type(error).__name__) from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SsoError("unreachable", "jwks") from error
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise SsoError("invalid_id_token", "sub")
    return dict(claims)


def _keys(force: bool = False) -> dict[str, Any]:
    try:
        return _client().fetch_jwk_set(force=force)
    except (requests.ConnectionError, requests.Timeout):
        raise
    except (requests.RequestException, ValueError) as error:
        raise SsoError("bad_provider", "jwks") from error


def _userinfo(token: dict[str, Any], subject: str) -> dict[str, Any]:
    """Claims from the UserInfo endpoint, when there is one; they must be about the same subject."""
    if not metadata().get("userinfo_endpoint") or not token.get("access_token"):
        return {}
    try:
        info = dict(_client().userinfo(token=token))
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SsoError("unreachable", "userinfo") from error
    except (requests.RequestException, ValueError, TypeError) as error:
        raise SsoError("bad_provider", "userinfo") from error
    if info.get("sub") != subject:
        raise SsoError("invalid_id_token", "userinfo sub differs")
    return info


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value[:limit] or None
