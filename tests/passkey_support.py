"""A small software authenticator (EC P-256, CBOR via cbor2): a real WebAuthn client for server
tests, not a stand-in for the server's checks. It answers the options the server gives, and
can be told to misbehave the ways the refusal tests need."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .helpers import submit

ORIGIN = "http://localhost"  # the Flask test client's address
OPTIONS = "/two-step-verification/passkeys/options"
ADD = "/two-step-verification/set-up/passkey"
SIGN_IN = "/two-step-verification/passkey"
CHALLENGE = "/two-step-verification/"
UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One passkey: a key pair, a credential id and a signature counter."""

    def __init__(self, counter_step: int = 1) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.counter_step = counter_step

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    @staticmethod
    def client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict, origin: str = ORIGIN, verified: bool = True) -> str:
        """navigator.credentials.create(): a registration result as the browser script posts it."""
        client_data = self.client_data("webauthn.create", options["challenge"], origin)
        flags = UP | AT | (UV if verified else 0)
        attested = (
            bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self.cose_key()
        )
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([flags])
            + struct.pack(">I", self.counter)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(client_data),
                    "attestationObject": b64(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def get(
        self, options: dict, origin: str = ORIGIN, verified: bool = True, counter: int | None = None
    ) -> str:
        """navigator.credentials.get(): an assertion, signed; the counter moves on unless given."""
        if counter is None:
            self.counter += self.counter_step
            counter = self.counter
        client_data = self.client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([UP | (UV if verified else 0)])
            + struct.pack(">I", counter)
        )
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(client_data),
                    "authenticatorData": b64(auth_data),
                    "signature": b64(signature),
                    "userHandle": None,
                },
            }
        )


def csrf_token(client, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    match = re.search(r'name="(?:passkey-)?csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def options(client, ceremony: str, page: str):
    """The ceremony options the browser script fetches from `page`."""
    return client.post(
        OPTIONS, data={"ceremony": ceremony}, headers={"X-CSRFToken": csrf_token(client, page)}
    )


def add_passkey(client, authenticator: SoftAuthenticator, name: str = "Laptop", **create):
    """Add a passkey through the set-up page, as the browser script does."""
    answer = options(client, "create", ADD)
    assert answer.status_code == 200, answer.status_code
    return submit(
        client, ADD, {"credential": authenticator.create(answer.get_json(), **create), "name": name}
    )


def use_passkey(
    client, authenticator: SoftAuthenticator, page: str = CHALLENGE, action: str = SIGN_IN, **get
):
    """Answer the second-factor page `page` with the passkey (its form posts to `action`)."""
    answer = options(client, "get", page)
    assert answer.status_code == 200, answer.status_code
    return submit(
        client, action, {"passkey-credential": authenticator.get(answer.get_json(), **get)}, page=page
    )
