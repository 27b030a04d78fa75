"""This service as a SAML 2.0 service provider: its key pair, the IdP's metadata with the IdP's
signing certificate pinned, the pysaml2 configuration, and the metadata the IdP is given."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
from datetime import timedelta
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, current_app
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.sigver import security_context
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from ..config import ConfigurationError
from ..mail import external_url
from ..models.base import utcnow

STATE_KEY = "cqmr_saml"
MAX_CLIENTS = 8
METADATA_TIMEOUT = 10  # seconds to fetch the IdP's metadata from an address, at start


def key_pair(app: Flask) -> tuple[str, str]:
    """(key file, certificate file): the configured ones, or a pair generated into instance/."""
    key, cert = app.config.get("SAML_SP_KEY_FILE"), app.config.get("SAML_SP_CERT_FILE")
    if key and cert:
        return key, cert
    if key or cert:
        raise ConfigurationError("Set both SAML_SP_KEY_FILE and SAML_SP_CERT_FILE, or neither.")
    folder = Path(app.instance_path)
    key_path, cert_path = folder / "saml-sp.key", folder / "saml-sp.crt"
    if not (key_path.exists() and cert_path.exists()):
        generate_key_pair(key_path, cert_path, "CQMR onboarding wizard (SAML)")
    return str(key_path), str(cert_path)


def self_signed(name: str, key_size: int = 3072, days: int = 3650):
    """A new RSA key and a self-signed certificate of `days` for it: (key, certificate)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = utcnow()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(private, hashes.SHA256())
    )
    return private, certificate


def generate_key_pair(key_path: Path, cert_path: Path, name: str) -> None:
    """Write an RSA key (readable by its owner only) and a 10-year self-signed certificate."""
    key_path.parent.mkdir(parents=True, exist_ok=True)
    private, certificate = self_signed(name)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def read_metadata(source: str) -> str:
    """An IdP's metadata from a file or an address (fetched now)."""
    if source.startswith(("https://", "http://")):
        try:
            response = requests.get(source, timeout=METADATA_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as error:
            raise ConfigurationError(f"SAML_IDP_METADATA {source!r} could not be fetched: {error}") from error
        return response.text
    try:
        return Path(source).read_text()
    except OSError as error:
        raise ConfigurationError(f"SAML_IDP_METADATA {source!r} cannot be read: {error}") from error


def fingerprint(cert_b64: str) -> str:
    """SHA-256 of a certificate (base64 DER), as lowercase hex without separators."""
    return hashlib.sha256(base64.b64decode(cert_b64)).hexdigest()


def _pinned(app: Flask) -> str | None:
    if app.config.get("SAML_IDP_CERT_FILE"):
        pem = Path(app.config["SAML_IDP_CERT_FILE"]).read_bytes()
        der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
        return hashlib.sha256(der).hexdigest()
    value = app.config.get("SAML_IDP_CERT_FINGERPRINT")
    return value.replace(":", "").lower() if value else None


def sp_settings(app: Flask, base_url: str, idp_xml: str) -> dict:
    """pysaml2's configuration of this service provider at `base_url` (the metadata address)."""
    key, cert = key_pair(app)
    return {
        "entityid": base_url,
        "xmlsec_binary": shutil.which("xmlsec1"),
        "key_file": key,
        "cert_file": cert,
        "encryption_keypairs": [{"key_file": key, "cert_file": cert}],
        "metadata": {"inline": [idp_xml]},
        "accepted_time_diff": app.config["SAML_CLOCK_SKEW"],
        "allow_unknown_attributes": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "service": {
            "sp": {
                "name": "CQMR onboarding wizard",
                "endpoints": {
                    "assertion_consumer_service": [(external_url("sso.saml_acs"), BINDING_HTTP_POST)],
                },
                "authn_requests_signed": True,
                # The Assertion must be signed, or the Response that wraps it (then pysaml2
                # takes the assertion only from inside the signed Response).
                "want_assertions_or_response_signed": True,
                "want_assertions_signed": False,
                "want_response_signed": False,
                "allow_unsolicited": False,  # no IdP-initiated sign-in: always our own request
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "name_id_format_allow_create": True,
            }
        },
    }


def configure(app: Flask) -> None:
    """Read the IdP's metadata once, check its signing certificate against the pin, and keep
    the IdP's entity id and SSO address; clients are built per site address, on first use."""
    state: dict = {"idp": None, "clients": {}}
    app.extensions[STATE_KEY] = state
    source = app.config.get("SAML_IDP_METADATA")
    if not source:
        return
    idp_xml = read_metadata(source)
    config = SPConfig().load(_reading_settings(app, idp_xml))
    idps = list(config.metadata.identity_providers())
    if len(idps) != 1:
        raise ConfigurationError(
            f"SAML_IDP_METADATA must describe exactly one IdP; it describes {len(idps)}."
        )
    idp = idps[0]
    certs = [cert for _name, cert in config.metadata.certs(idp, "idpsso", "signing")]
    if not certs:
        raise ConfigurationError("The IdP's metadata names no signing certificate.")
    pin = _pinned(app)
    if pin and any(fingerprint(cert) != pin for cert in certs):
        raise ConfigurationError(
            "The IdP's metadata names a signing certificate other than the pinned one "
            "(SAML_IDP_CERT_FILE or SAML_IDP_CERT_FINGERPRINT): it was not trusted."
        )
    sso = config.metadata.single_sign_on_service(idp, BINDING_HTTP_REDIRECT)
    if not sso:
        raise ConfigurationError("The IdP's metadata has no HTTP-Redirect single sign-on service.")
    state.update(idp=idp, idp_xml=idp_xml, sso_url=sso[0]["location"])


def _reading_settings(app: Flask, idp_xml: str) -> dict:
    """Settings to read the IdP's metadata with, before any site address is known."""
    return {"entityid": "urn:cqmr:check", "metadata": {"inline": [idp_xml]}, "allow_unknown_attributes": True}


def state() -> dict:
    """What configure() learnt: the IdP's entity id, metadata and SSO address."""
    return current_app.extensions[STATE_KEY]


def client() -> Saml2Client:
    """The service provider at this site's address (one per address, kept)."""
    base = external_url("sso.saml_metadata")
    found = state()["clients"].get(base)
    if found is None:
        if len(state()["clients"]) >= MAX_CLIENTS:  # outside production the Host header picks base
            state()["clients"].clear()
        config = SPConfig().load(sp_settings(current_app, base, state()["idp_xml"]))
        found = state()["clients"][base] = Saml2Client(config)
    return found


def sp_metadata() -> str:
    """This service provider's metadata: signed, with its signing and encryption certificate
    and its assertion consumer service."""
    config = client().config
    descriptor = entity_descriptor(config)
    descriptor.valid_until = None
    _signed, xml = sign_entity_descriptor(
        descriptor, None, security_context(config), SIG_RSA_SHA256, DIGEST_SHA256
    )
    return xml
