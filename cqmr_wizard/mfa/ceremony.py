"""WebAuthn ceremonies (py_webauthn): the relying party from configuration, options with a
challenge kept in the server-side session (single-use), and the checks of what comes back.

User verification is required in both ceremonies; attestation is `none`. Each failure is a
`CeremonyFailed` whose `reason` says which rule refused it, for the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import webauthn
from flask import current_app, request, session
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_attestation_object,
    parse_authentication_credential_json,
    parse_authenticator_data,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..models import User, WebAuthnCredential
from ..models.base import utcnow

SESSION_KEY = "webauthn_ceremony"
TIMEOUT = timedelta(minutes=5)
CREATE, GET = "create", "get"


class CeremonyFailed(Exception):
    """What came back from the browser does not check out; `reason` names the rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RelyingParty:
    id: str
    origin: str
    name: str


def relying_party() -> RelyingParty:
    """The relying party: configured, else SERVER_NAME_FOR_LINKS, else (local use) this request's
    own address."""
    config = current_app.config
    origin = config.get("WEBAUTHN_ORIGIN") or config.get("SERVER_NAME_FOR_LINKS") or request.host_url
    if "://" not in origin:
        origin = f"{config['PREFERRED_URL_SCHEME']}://{origin}"
    parts = urlsplit(origin)
    origin = f"{parts.scheme}://{parts.netloc}"
    return RelyingParty(
        id=config.get("WEBAUTHN_RP_ID") or parts.hostname or "",
        origin=origin,
        name=config["WEBAUTHN_RP_NAME"],
    )


def user_handle(user: User) -> bytes:
    """A stable opaque handle for the person (not their id, not their address)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"webauthn-user:{user.id}".encode(), hashlib.sha256).digest()


def _descriptors(held: list[WebAuthnCredential]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(c.credential_id),
            transports=[AuthenticatorTransport(t) for t in c.transports.split(",") if t in known] or None,
        )
        for c in held
    ]


def _remember(kind: str, challenge: bytes) -> None:
    session[SESSION_KEY] = {
        "kind": kind,
        "challenge": bytes_to_base64url(challenge),
        "at": utcnow().isoformat(),
    }


def take_challenge(kind: str) -> bytes:
    """The session's challenge for a `kind` ceremony, removed so it answers once; refused when
    there is none (already answered) or it is too old."""
    stored = session.pop(SESSION_KEY, None)
    if not stored or stored.get("kind") != kind:
        raise CeremonyFailed("replayed")
    if utcnow() - datetime.fromisoformat(stored["at"]) > TIMEOUT:
        raise CeremonyFailed("expired")
    return base64url_to_bytes(stored["challenge"])


def registration_options(user: User, held: list[WebAuthnCredential]) -> str:
    """Options for navigator.credentials.create(), as JSON; the challenge goes to the session."""
    party = relying_party()
    options = webauthn.generate_registration_options(
        rp_id=party.id,
        rp_name=party.name,
        user_name=user.email,
        user_id=user_handle(user),
        user_display_name=user.full_name or user.email,
        timeout=int(TIMEOUT.total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(held),
    )
    _remember(CREATE, options.challenge)
    return webauthn.options_to_json(options)


def authentication_options(held: list[WebAuthnCredential]) -> str:
    """Options for navigator.credentials.get() over the person's passkeys, as JSON."""
    options = webauthn.generate_authentication_options(
        rp_id=relying_party().id,
        timeout=int(TIMEOUT.total_seconds() * 1000),
        allow_credentials=_descriptors(held),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    _remember(GET, options.challenge)
    return webauthn.options_to_json(options)


def _precheck(client_data_json: bytes, flags_uv: bool, challenge: bytes, party: RelyingParty) -> None:
    """Name the common failures before the library's full check: answered with another
    challenge, made on another site, or without user verification."""
    client = parse_client_data_json(client_data_json)
    if client.challenge != challenge:
        raise CeremonyFailed("replayed")
    if client.origin != party.origin:
        raise CeremonyFailed("origin")
    if not flags_uv:
        raise CeremonyFailed("user_verification")


@dataclass(frozen=True)
class NewPasskey:
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: str


def verify_registration(payload: str) -> NewPasskey:
    """Check a navigator.credentials.create() result (JSON) against the session's challenge."""
    challenge = take_challenge(CREATE)
    party = relying_party()
    try:
        credential = parse_registration_credential_json(payload)
        attestation = parse_attestation_object(credential.response.attestation_object)
        _precheck(credential.response.client_data_json, attestation.auth_data.flags.uv, challenge, party)
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.id,
            expected_origin=party.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise CeremonyFailed("invalid") from error
    transports = ",".join(t.value for t in credential.response.transports or [])
    return NewPasskey(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports[:200],
    )


def assertion_credential_id(payload: str) -> str:
    """The credential id a navigator.credentials.get() result (JSON) claims to be from."""
    try:
        return bytes_to_base64url(parse_authentication_credential_json(payload).raw_id)
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise CeremonyFailed("invalid") from error


@dataclass(frozen=True)
class Assertion:
    sign_count: int
    challenge_digest: str


def verify_assertion(payload: str, challenge: bytes, held: WebAuthnCredential) -> Assertion:
    """Check an assertion's origin, user verification and signature against `held`. The counter
    is the caller's to compare (a backwards counter is a clone warning, not a plain failure)."""
    party = relying_party()
    try:
        credential = parse_authentication_credential_json(payload)
        data = parse_authenticator_data(credential.response.authenticator_data)
        _precheck(credential.response.client_data_json, data.flags.uv, challenge, party)
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=party.id,
            expected_origin=party.origin,
            credential_public_key=held.public_key,
            # Zero: the signature first; the counter is compared by the caller, atomically.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise CeremonyFailed("invalid") from error
    return Assertion(verified.new_sign_count, hashlib.sha256(challenge).hexdigest())
