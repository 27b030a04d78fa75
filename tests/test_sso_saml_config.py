"""SAML settings: the IdP's signing certificate is pinned, production insists on the pin, and
without a key pair of its own the wizard makes one in the instance folder."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from cqmr_wizard import create_app
from cqmr_wizard.config import ConfigurationError
from cqmr_wizard.settings import ENV_SETTINGS
from cqmr_wizard.sso import protocol

from .saml_idp import ENTITY_ID, saml_idp  # noqa: F401
from .test_sso_config import PRODUCTION


@pytest.fixture(autouse=True)
def clean_environment(tmp_path, monkeypatch):
    for key in ENV_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "instance").mkdir()
    monkeypatch.setenv("CQMR_INSTANCE_PATH", str(tmp_path / "instance"))


def test_metadata_naming_another_signing_certificate_than_the_pinned_one_stops_start_up(saml_idp):  # noqa: F811
    with pytest.raises(ConfigurationError, match="pinned"):
        create_app(saml_idp.app_config(SAML_IDP_CERT_FILE=saml_idp.other_cert))
    with pytest.raises(ConfigurationError, match="pinned"):
        create_app(saml_idp.app_config(SAML_IDP_CERT_FILE=None, SAML_IDP_CERT_FINGERPRINT="00" * 32))


def test_the_pin_by_fingerprint_and_the_idp_entity_id_is_the_issuer(saml_idp):  # noqa: F811
    cert = x509.load_pem_x509_certificate(Path(saml_idp.cert).read_bytes())
    colons = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    app = create_app(saml_idp.app_config(SAML_IDP_CERT_FILE=None, SAML_IDP_CERT_FINGERPRINT=colons))
    with app.test_request_context():
        assert protocol.enabled() and protocol.issuer() == ENTITY_ID


def test_production_requires_the_pin(saml_idp):  # noqa: F811
    settings = {**PRODUCTION, **saml_idp.app_config(SAML_IDP_CERT_FILE=None)}
    with pytest.raises(ConfigurationError, match="SAML_IDP_CERT_FILE or SAML_IDP_CERT_FINGERPRINT"):
        create_app(settings)


def test_an_unknown_protocol_stops_start_up():
    with pytest.raises(ConfigurationError, match="SSO_PROTOCOL"):
        create_app({"SSO_PROTOCOL": "ldap"})


def test_without_a_key_pair_one_is_made_in_the_instance_folder_and_kept(saml_idp, tmp_path):  # noqa: F811
    settings = saml_idp.app_config(SAML_SP_KEY_FILE=None, SAML_SP_CERT_FILE=None)
    first = create_app(settings).test_client().get("/sso/saml/metadata").data
    key = tmp_path / "instance" / "saml-sp.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    again = create_app(settings).test_client().get("/sso/saml/metadata").data
    certificate = (tmp_path / "instance" / "saml-sp.crt").read_text().split("-----")[2].replace("\n", "")
    assert certificate in first.decode() and certificate in again.decode()


def test_the_attribute_map_may_come_from_the_environment(saml_idp, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SAML_ATTRIBUTE_MAP", json.dumps({"urn:ohp:org": "ohp_org_id"}))
    app = create_app(saml_idp.app_config())
    assert app.config["SAML_ATTRIBUTE_MAP"] == {"urn:ohp:org": "ohp_org_id"}
