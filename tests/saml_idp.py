"""A SAML 2.0 identity provider for the Flask test client: pysaml2's IdP side (saml2.server),
signing with xmlsec1 under keys made for the test run, and answers shaped as a test needs them
(times, audience, recipient, who signs, encrypted or not)."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from saml2 import BINDING_HTTP_REDIRECT, class_name, samlp
from saml2.authn_context import PASSWORD
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_signature_part
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from cqmr_wizard.sso.saml_setup import self_signed

ENTITY_ID = "https://idp.onehealthport.test/saml"
SSO_URL = "https://idp.onehealthport.test/saml/sso"
SP_ENTITY_ID = "http://localhost/sso/saml/metadata"
ACS_URL = "http://localhost/sso/saml/acs"


@dataclass(frozen=True)
class Sp:
    """A service provider the IdP answers, as the Flask test client reaches it."""

    entity_id: str = SP_ENTITY_ID
    acs: str = ACS_URL
    metadata_path: str = "/sso/saml/metadata"


WIZARD = Sp()


def key_pair(folder: Path, name: str) -> tuple[str, str]:
    """A fresh RSA key and self-signed certificate as PEM files: (key file, certificate file)."""
    private, cert = self_signed(name, key_size=2048, days=30)
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.crt"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_file), str(cert_file)


def shifted(minutes: float) -> str:
    """An xs:dateTime this many minutes from now (real time: pysaml2 reads the real clock)."""
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


class SamlIdp:
    """The IdP: its metadata file for the wizard, and signed answers to the wizard's requests."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key, self.cert = key_pair(folder, "idp")
        self.other_key, self.other_cert = key_pair(folder, "intruder")
        self.sp_key, self.sp_cert = key_pair(folder, "sp")
        self.metadata_file = folder / "idp-metadata.xml"
        self.metadata_file.write_text(str(entity_descriptor(self._config())))
        self._servers: dict[str, Server] = {}

    def _config(self, sp_metadata: str | None = None, key: str | None = None, cert: str | None = None):
        settings = {
            "entityid": ENTITY_ID,
            "xmlsec_binary": shutil.which("xmlsec1"),
            "key_file": key or self.key,
            "cert_file": cert or self.cert,
            "service": {
                "idp": {
                    "endpoints": {"single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)]},
                    "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                }
            },
            "allow_unknown_attributes": True,
        }
        if sp_metadata:
            settings["metadata"] = {"inline": [sp_metadata]}
        return IdPConfig().load(settings)

    def app_config(self, **overrides) -> dict:
        """The wizard's settings for this IdP (its own SP key pair, made once)."""
        return {
            "SSO_PROTOCOL": "saml",
            "SAML_IDP_METADATA": str(self.metadata_file),
            "SAML_IDP_CERT_FILE": self.cert,
            "SAML_SP_KEY_FILE": self.sp_key,
            "SAML_SP_CERT_FILE": self.sp_cert,
            **overrides,
        }

    def server(self, client, *, key: str | None = None, cert: str | None = None, sp: Sp = WIZARD) -> Server:
        """The IdP side, knowing the service provider from the metadata it publishes."""
        sp_metadata = client.get(sp.metadata_path).get_data(as_text=True)
        return Server(config=self._config(sp_metadata, key, cert))

    def request(self, client, location: str, sp: Sp = WIZARD) -> samlp.AuthnRequest:
        """The wizard's AuthnRequest, its redirect signature verified."""
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == SSO_URL, location
        args = {k: v[0] for k, v in parse_qs(parts.query).items()}
        server = self.server(client, sp=sp)
        assert args["SigAlg"] == SIG_RSA_SHA256, args
        # pysaml2 verifies the redirect binding's signature with the SP's metadata certificate.
        parsed = server.parse_authn_request(
            args["SAMLRequest"], BINDING_HTTP_REDIRECT, sigalg=args["SigAlg"], signature=args["Signature"]
        )
        return parsed.message

    def answer(
        self,
        client,
        location: str,
        subject: str,
        attributes: dict[str, str] | None = None,
        *,
        sign: str | None = "assertion",
        key: str | None = None,
        cert: str | None = None,
        edit: Callable[[samlp.Response], None] | None = None,
        tamper: Callable[[str], str] | None = None,
        in_response_to: str | None = None,
        sp: Sp = WIZARD,
    ) -> str:
        """The base64 SAMLResponse the IdP posts back for the request at `location`: `edit`
        changes it before it is signed (by `key`, default the IdP's own), `tamper` the signed XML."""
        request = self.request(client, location, sp)
        server = self.server(client, key=key, cert=cert, sp=sp)
        identity = {k: [v] for k, v in (attributes or {}).items()}
        xml = server.create_authn_response(
            identity,
            in_response_to or request.id,
            sp.acs,
            sp.entity_id,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": PASSWORD, "authn_instant": int(datetime.now(UTC).timestamp())},
            sign_response=False,
            sign_assertion=False,
        )
        response = samlp.response_from_string(str(xml))
        if edit:
            edit(response)
        xml = self.sign(server, response, sign)
        return base64.b64encode((tamper(xml) if tamper else xml).encode()).decode()

    def encrypted_answer(self, client, location: str, subject: str, attributes: dict[str, str]) -> str:
        """A signed assertion, encrypted to the wizard's certificate from its metadata."""
        request = self.request(client, location)
        server = self.server(client)
        xml = server.create_authn_response(
            {k: [v] for k, v in attributes.items()},
            request.id,
            ACS_URL,
            SP_ENTITY_ID,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": PASSWORD, "authn_instant": int(datetime.now(UTC).timestamp())},
            sign_assertion=True,
            encrypt_assertion=True,
            encrypt_cert_assertion=Path(self.sp_cert).read_text(),
        )
        assert "EncryptedAssertion" in str(xml)
        return base64.b64encode(str(xml).encode()).decode()

    def sign(self, server: Server, response: samlp.Response, sign: str | None) -> str:
        """The Response as XML with its Assertion or itself signed (or, with None, nothing)."""
        if sign is None:
            return str(response)
        target = response.assertion[0] if sign == "assertion" else response
        target.signature = pre_signature_part(
            target.id, server.sec.my_cert, 1, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256
        )
        return server.sec.sign_statement(str(response), class_name(target), node_id=target.id)


@pytest.fixture(scope="session")
def saml_idp(tmp_path_factory) -> SamlIdp:
    """The SAML IdP for the Flask test client (keys made once per run)."""
    return SamlIdp(tmp_path_factory.mktemp("saml-idp"))
