"""The SAML 2.0 service provider for OneHealthPort (SSO_PROTOCOL=saml): signed AuthnRequests
over HTTP-Redirect, Responses over HTTP-POST, believed only once pysaml2 and xmlsec1 have
checked signature, Destination, Recipient, Audience, InResponseTo and times, and the
assertion's id has never been used before (by any worker)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, current_app, redirect, session
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.response import StatusAuthnFailed, StatusError, StatusRequestDenied
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import SamlAssertionSeen, SamlPendingResponse
from ..models.base import utcnow
from . import saml_setup
from .errors import SsoError
from .verified import FLOW_KEY, VerifiedIdentity

MAX_RESPONSE_BYTES = 256 * 1024
PENDING_MAX_AGE = timedelta(minutes=5)  # from the IdP's POST to the redirect that claims it
FIELDS = ("email", "name", "ohp_org_id", "ohp_org_name")
LIMITS = {"email": 254, "name": 200, "ohp_org_id": 128, "ohp_org_name": 200}


def configure(app: Flask) -> None:
    """Read the IdP's metadata and check it against the pinned certificate."""
    saml_setup.configure(app)


def origins(app: Flask) -> list[str]:
    """Where the browser is sent to sign in."""
    url = app.extensions[saml_setup.STATE_KEY].get("sso_url")
    return [url] if url else []


def enabled() -> bool:
    """True when an IdP is configured."""
    return saml_setup.state()["idp"] is not None


def issuer() -> str | None:
    """The IdP's entity id."""
    return saml_setup.state()["idp"]


def clock_leeway() -> int:
    """Seconds of clock skew tolerated on assertion times."""
    return current_app.config["SAML_CLOCK_SKEW"]


def start(
    purpose: str, *, user_id: int | None = None, next_path: str | None = None, reauthenticate: bool = False
) -> Response:
    """A signed AuthnRequest over HTTP-Redirect (ForceAuthn to re-authenticate), its id kept in
    the session for InResponseTo."""
    if not enabled():
        raise SsoError("not_configured")
    extra = {"force_authn": "true"} if reauthenticate else {}
    request_id, info = saml_setup.client().prepare_for_authenticate(
        entityid=issuer(),
        binding=BINDING_HTTP_REDIRECT,
        response_binding=BINDING_HTTP_POST,
        sign=True,
        sigalg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        **extra,
    )
    session[FLOW_KEY] = {
        "protocol": "saml",
        "request_id": request_id,
        "purpose": purpose,
        "user_id": user_id,
        "next": next_path,
        "reauthenticate": reauthenticate,
        "started_at": utcnow().timestamp(),
    }
    return redirect(dict(info["headers"])["Location"], 303)


def hold(body: str) -> str:
    """Keep a posted SAMLResponse for the redirect that brings the browser's session; the token
    that claims it (once)."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise SsoError("invalid_response", "too large")
    token = secrets.token_urlsafe(32)
    db.session.add(SamlPendingResponse(token_hash=_hash(token), body=body))
    db.session.commit()
    return token


def _claim(token: str) -> str | None:
    """The held response for `token`, removed so no second redirect can use it."""
    with db.engine.begin() as connection:
        row = connection.execute(
            select(SamlPendingResponse.body, SamlPendingResponse.received_at).where(
                SamlPendingResponse.token_hash == _hash(token)
            )
        ).first()
        if row is None:
            return None
        gone = connection.execute(
            delete(SamlPendingResponse).where(SamlPendingResponse.token_hash == _hash(token))
        ).rowcount
    if gone != 1 or utcnow() - row.received_at > PENDING_MAX_AGE:
        return None
    return row.body


def finish(token: str | None = None) -> tuple[dict[str, Any], VerifiedIdentity]:
    """Check the held Response against the request this session started (used up either way)."""
    flow = session.pop(FLOW_KEY, None)
    body = _claim(token) if token else None
    if not isinstance(flow, dict) or flow.get("protocol") != "saml" or body is None:
        raise SsoError("state_mismatch")
    if utcnow().timestamp() - flow["started_at"] > current_app.config["SAML_FLOW_TTL"].total_seconds():
        raise SsoError("flow_expired")
    try:
        xml = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SsoError("invalid_response", "not base64") from error
    # A comment splits a text node: a parser that reads only the first part would take
    # "user@evil.com<!---->.example.com" for "user@evil.com". No IdP needs comments: refuse them.
    if b"<!--" in xml:
        raise SsoError("invalid_response", "XML comment")
    response = _parse(body, flow["request_id"])
    return flow, _identity(response)


def _parse(body: str, request_id: str):
    client = saml_setup.client()
    try:
        response = client.parse_authn_request_response(
            body, BINDING_HTTP_POST, outstanding={request_id: "sso"}
        )
    except (StatusAuthnFailed, StatusRequestDenied) as error:
        raise SsoError("access_denied", type(error).__name__) from error
    except StatusError as error:
        raise SsoError("provider_error", type(error).__name__) from error
    # pysaml2 and xmlsec1 fail in many exception types; any of them means "not verified".
    except Exception as error:  # noqa: BLE001
        raise SsoError("invalid_response", f"{type(error).__name__}: {error}"[:200]) from error
    if response is None or response.assertion is None:
        raise SsoError("invalid_response", "no assertion")
    if response.in_response_to != request_id:  # pysaml2 checks this too; say it here as well
        raise SsoError("state_mismatch", "InResponseTo")
    if response.issuer() != issuer() or response.assertion.issuer.text != issuer():
        raise SsoError("invalid_response", "issuer")
    _check_bearer(response.assertion, client.config.endpoint("assertion_consumer_service", BINDING_HTTP_POST))
    return response


def _check_bearer(assertion, acs_urls: list[str]) -> None:
    """A bearer confirmation for this ACS and this request (pysaml2 leaves Recipient unchecked)."""
    for confirmation in assertion.subject.subject_confirmation if assertion.subject else []:
        data = confirmation.subject_confirmation_data
        if (
            confirmation.method == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
            and data is not None
            and data.recipient in acs_urls
            and data.in_response_to is not None
        ):
            return
    raise SsoError("invalid_response", "no bearer SubjectConfirmation for this Recipient")


def _identity(response) -> VerifiedIdentity:
    assertion = response.assertion
    name_id = response.name_id
    if name_id is None or name_id.format != NAMEID_FORMAT_PERSISTENT:
        raise SsoError("invalid_response", "NameID is not persistent")
    subject = (name_id.text or "").strip()
    if not subject or len(subject) > 255:
        raise SsoError("invalid_response", "NameID")
    _remember(assertion)
    values: dict[str, str | None] = dict.fromkeys(FIELDS)
    attribute_map = current_app.config["SAML_ATTRIBUTE_MAP"]
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            field = attribute_map.get(attribute.name) or attribute_map.get(attribute.friendly_name)
            texts = [v.text for v in attribute.attribute_value if v.text]
            if field in FIELDS and texts and values[field] is None:
                values[field] = texts[0].strip()[: LIMITS[field]] or None
    instants = [_time(s.authn_instant) for s in assertion.authn_statement if s.authn_instant]
    return VerifiedIdentity(
        issuer=issuer(),
        subject=subject,
        auth_time=int(max(instants).timestamp()) if instants else None,
        **values,
    )


def _remember(assertion) -> None:
    """Record the assertion's id until it expires; a second use (any worker) is refused."""
    ends = [_time(assertion.conditions.not_on_or_after)] if assertion.conditions else []
    for confirmation in assertion.subject.subject_confirmation:
        data = confirmation.subject_confirmation_data
        if data is not None and data.not_on_or_after:
            ends.append(_time(data.not_on_or_after))
    ends = [e for e in ends if e is not None]
    if not ends:
        raise SsoError("invalid_response", "no NotOnOrAfter")
    expires = max(ends) + timedelta(seconds=clock_leeway())
    try:
        with db.engine.begin() as connection:
            connection.execute(
                insert(SamlAssertionSeen).values(
                    assertion_id=assertion.id, issuer=issuer(), expires_at=expires, seen_at=utcnow()
                )
            )
    except IntegrityError as error:
        raise SsoError("replayed", assertion.id[:64]) from error


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
