"""The local CQMR as a SAML 2.0 service provider of the local IdP (SSO_PROTOCOL=saml): the
login the wizard initiates (`iss` = the IdP's entity id, `login_hint` = the person's persistent
NameID) ends only if the IdP signed in that very person."""

from __future__ import annotations

import shutil
from pathlib import Path

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from ..sso.saml_setup import generate_key_pair, read_metadata


class SamlLogin:
    """One SP (entity id PUBLIC/saml/metadata, ACS PUBLIC/saml/acs) trusting one IdP."""

    def __init__(self, public_url: str, data_dir: Path, idp_metadata: str) -> None:
        key, cert = data_dir / "saml-sp.key", data_dir / "saml-sp.crt"
        if not (key.exists() and cert.exists()):
            generate_key_pair(key, cert, "CQMR stand-in (SAML)")
        config = SPConfig().load(
            {
                "entityid": f"{public_url}/saml/metadata",
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": str(key),
                "cert_file": str(cert),
                "encryption_keypairs": [{"key_file": str(key), "cert_file": str(cert)}],
                "metadata": {"inline": [read_metadata(idp_metadata)]},
                "allow_unknown_attributes": True,
                "service": {
                    "sp": {
                        "endpoints": {
                            "assertion_consumer_service": [(f"{public_url}/saml/acs", BINDING_HTTP_POST)]
                        },
                        "authn_requests_signed": True,
                        "want_assertions_or_response_signed": True,
                        "want_assertions_signed": False,
                        "want_response_signed": False,
                        "allow_unsolicited": False,
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    }
                },
            }
        )
        self.client = Saml2Client(config)
        (self.idp,) = config.metadata.identity_providers()

    def metadata(self) -> str:
        """This SP's metadata, to register with the IdP."""
        return str(entity_descriptor(self.client.config))

    def start(self) -> tuple[str, str]:
        """(request id, the IdP address to redirect to) for a signed AuthnRequest."""
        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp,
            binding=BINDING_HTTP_REDIRECT,
            sign=True,
            sigalg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        return request_id, dict(info["headers"])["Location"]

    def finish(self, saml_response: str, request_id: str) -> str | None:
        """The persistent NameID the IdP vouches for in answer to `request_id`, or None."""
        try:
            response = self.client.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"}
            )
        # pysaml2 fails in many exception types; any of them means "not signed in".
        except Exception:  # noqa: BLE001
            return None
        if response is None or response.name_id is None or response.in_response_to != request_id:
            return None
        if response.name_id.format != NAMEID_FORMAT_PERSISTENT or not response.name_id.text:
            return None
        return response.name_id.text.strip()
