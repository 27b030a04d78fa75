"""The OpenID Connect client for OneHealthPort (SSO_PROTOCOL=oidc): authorization requests bound to the session,
and answers that are only believed after the ID token has been verified."""

from __future__ import annotations

import hmac
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App, OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from flask import Flask, Response, current_app, request, session
from joserfc.errors import JoseError

from ..mail import external_url
from ..models.base import utcnow
from .errors import SsoError
from .verified import FLOW_KEY, VerifiedIdentity

NAME = "onehealthport"
CLIENT_KEY = "cqmr_oidc_client"
METADATA_MAX_AGE = 3600  # seconds before the provider's metadata and keys are fetched again


class SessionFlow(FlaskIntegration):
    """Where Authlib keeps a started sign-in (state, nonce, PKCE verifier, redirect URI): one
    per session, under FLOW_KEY, used up by the first answer that names its state."""

    def set_state_data(self, session, state, data) -> None:
        session[FLOW_KEY] = {**data, "state": state, "started_at": utcnow().timestamp()}

    def get_state_data(self, session, state) -> dict | None:
        flow = session.get(FLOW_KEY)
        if isinstance(flow, dict) and hmac.compare_digest(str(flow.get("state", "")), state or ""):
            return flow
        return None

    def clear_state_data(self, session, state) -> None:
        session.pop(FLOW_KEY, None)


def configure(app: Flask) -> None:
    """Register this app's client (no network)."""
    issuer = app.config.get("OIDC_ISSUER")
    app.extensions[CLIENT_KEY] = None
    if issuer:
        # One registry per app (each test builds its own): a process-wide one would keep the
        # first app's client under this name.
        client = OAuth(app).register(
            NAME,
            client_id=app.config["OIDC_CLIENT_ID"],
            client_secret=app.config["OIDC_CLIENT_SECRET"],
            server_metadata_url=app.config.get("OIDC_METADATA_URL")
            or issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": app.config["OIDC_SCOPES"],
                "code_challenge_method": "S256",
                "default_timeout": app.config["OIDC_TIMEOUT"],
            },
        )
        client.framework = SessionFlow(NAME)
        app.extensions[CLIENT_KEY] = client  # each app keeps its own: tests build many apps


def origins(app: Flask) -> list[str]:
    """Where the browser is sent to sign in."""
    return [app.config["OIDC_ISSUER"]] if app.config.get("OIDC_ISSUER") else []


def clock_leeway() -> int:
    """Seconds of clock skew tolerated on ID token times."""
    return current_app.config["OIDC_CLOCK_LEEWAY"]


def enabled() -> bool:
    """True when single sign-on is configured."""
    return current_app.extensions.get(CLIENT_KEY) is not None


def issuer() -> str | None:
    """Who vouches for identities: the configured issuer."""
    return current_app.config.get("OIDC_ISSUER")


def _client() -> FlaskOAuth2App:
    client = current_app.extensions.get(CLIENT_KEY)
    if client is None:
        raise SsoError("not_configured")
    return client


def token_auth_method(supported: list[str] | None, has_key: bool) -> str | None:
    """How to authenticate at the token endpoint, among the methods the provider supports
    (RFC 8414: client_secret_basic when it names none); None when there is no common one."""
    offered = supported or ["client_secret_basic"]
    preferred = ["private_key_jwt"] if has_key else []
    return next((m for m in [*preferred, "client_secret_basic", "client_secret_post"] if m in offered), None)


def metadata() -> dict[str, Any]:
    """The provider's discovery document, checked to belong to the configured issuer."""
    client, config = _client(), current_app.config
    loaded_at = client.server_metadata.get("_loaded_at")
    if loaded_at and utcnow().timestamp() - loaded_at > METADATA_MAX_AGE:
        client.server_metadata.clear()
    try:
        data = client.load_server_metadata()
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SsoError("unreachable", type(error).__name__) from error
    except (requests.RequestException, ValueError, TypeError) as error:
        client.server_metadata.clear()
        raise SsoError("bad_provider", f"metadata: {type(error).__name__}") from error
    missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not data.get(k)]
    method = token_auth_method(
        data.get("token_endpoint_auth_methods_supported"), bool(config["OIDC_CLIENT_KEY"])
    )
    if data.get("issuer") != config["OIDC_ISSUER"] or missing or method is None:
        client.server_metadata.clear()
        raise SsoError("bad_provider", f"issuer {data.get('issuer')!r}, missing {missing}, auth {method}")
    # Authlib verifies ID tokens with the algorithms the metadata names: only those we accept.
    offered = data.get("id_token_signing_alg_values_supported") or config["OIDC_ID_TOKEN_ALGS"]
    data["id_token_signing_alg_values_supported"] = [a for a in offered if a in config["OIDC_ID_TOKEN_ALGS"]]
    key_jwt = method == "private_key_jwt"
    client.client_kwargs["token_endpoint_auth_method"] = method
    client.client_secret = config["OIDC_CLIENT_KEY"] if key_jwt else config["OIDC_CLIENT_SECRET"]
    client.client_auth_methods = [PrivateKeyJWT(data["token_endpoint"])] if key_jwt else None
    return data


def start(
    purpose: str, *, user_id: int | None = None, next_path: str | None = None, reauthenticate: bool = False
) -> Response:
    """Start an authorization request remembered in the session; the redirect to the provider."""
    metadata()
    extra: dict[str, Any] = {"prompt": "login", "max_age": 0} if reauthenticate else {}
    try:
        response = _client().authorize_redirect(external_url("sso.callback"), **extra)
    except requests.RequestException as error:
        raise SsoError("unreachable", type(error).__name__) from error
    session[FLOW_KEY] = {
        **session[FLOW_KEY],
        "purpose": purpose,
        "user_id": user_id,
        "next": next_path,
        "reauthenticate": reauthenticate,
    }
    response.status_code = 303  # answers a POST
    return response


def finish() -> tuple[dict[str, Any], VerifiedIdentity]:
    """Check the provider's answer to this request against the session's sign-in; return that
    sign-in and who signed in. The sign-in is used up either way: an answer is never replayed."""
    client, config, args = _client(), current_app.config, request.args
    flow = client.framework.get_state_data(session, args.get("state"))
    try:
        if flow is None:
            raise SsoError("state_mismatch")
        if utcnow().timestamp() - flow["started_at"] > config["OIDC_FLOW_TTL"].total_seconds():
            raise SsoError("flow_expired")
        if args.get("iss") is not None and args["iss"] != config["OIDC_ISSUER"]:  # RFC 9207 mix-up
            raise SsoError("invalid_id_token", "authorization response iss")
        if args.get("error"):
            reason = "access_denied" if args["error"] == "access_denied" else "provider_error"
            raise SsoError(reason, args["error"][:64])
        if not args.get("code"):
            raise SsoError("provider_error", "no code")
        metadata()
        token = _token(client, flow["nonce"])
    finally:
        session.pop(FLOW_KEY, None)
    claims = token.get("userinfo")
    if not claims:
        raise SsoError("invalid_id_token", "no id_token")
    if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
        raise SsoError("invalid_id_token", "sub")
    merged = {**claims, **_userinfo(token, claims["sub"])}
    return flow, VerifiedIdentity(
        issuer=config["OIDC_ISSUER"],
        subject=claims["sub"],
        email=_text(merged.get("email"), 254),
        name=_text(merged.get("name"), 200),
        ohp_org_id=_text(merged.get("ohp_org_id"), 128),
        ohp_org_name=_text(merged.get("ohp_org_name"), 200),
        auth_time=claims.get("auth_time"),
    )


def _token(client: FlaskOAuth2App, nonce: str) -> dict[str, Any]:
    """Redeem the code (PKCE) and verify the ID token: signature, issuer, exactly this audience,
    times and nonce."""
    config = current_app.config
    client_id = config["OIDC_CLIENT_ID"]
    claims_options = {
        "iss": {"essential": True, "values": [config["OIDC_ISSUER"]]},
        # Exactly this client: an extra audience would be a party this service does not trust.
        "aud": {
            "essential": True,
            "values": [client_id],
            "validate": lambda _c, v: v in (client_id, [client_id]),
        },
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    try:
        return client.authorize_access_token(
            claims_options=claims_options, leeway=config["OIDC_CLOCK_LEEWAY"]
        )
    except (requests.ConnectionError, requests.Timeout) as error:
        raise SsoError("unreachable", type(error).__name__) from error
    except JoseError as error:
        raise SsoError("invalid_id_token", f"{type(error).__name__}: {error}"[:200]) from error
    except AuthlibBaseError as error:
        raise SsoError("token_refused", str(getattr(error, "error", "")) or "token") from error
    except (requests.RequestException, ValueError, TypeError, KeyError) as error:
        raise SsoError("bad_provider", f"token response: {type(error).__name__}") from error


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
