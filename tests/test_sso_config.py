"""Single sign-on and CQMR settings: half a configuration stops start-up with a sentence that
names the missing setting; redirect targets must be absolute addresses."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from cqmr_wizard import create_app
from cqmr_wizard.config import ConfigurationError
from cqmr_wizard.settings import ENV_SETTINGS

PRODUCTION = {
    "CQMR_ENV": "production",
    "SECRET_KEY": "s" * 64,
    "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "AUDIT_HMAC_KEYS": "a" * 64,
    "RECOVERY_CODE_KEY": "r" * 64,
    "DATABASE_URL": "postgresql://cqmr@db.internal/cqmr",
    "SERVER_NAME_FOR_LINKS": "https://onboarding.example.org",
}
SSO = {
    "OIDC_ISSUER": "https://sso.onehealthport.example",
    "OIDC_CLIENT_ID": "cqmr-wizard",
    "OIDC_CLIENT_SECRET": "a-real-secret",
}


@pytest.fixture(autouse=True)
def clean_environment(tmp_path, monkeypatch):
    for key in ENV_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "instance").mkdir()
    monkeypatch.setenv("CQMR_INSTANCE_PATH", str(tmp_path / "instance"))


@pytest.mark.parametrize("missing", ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"])
def test_production_with_an_issuer_needs_the_client_credentials(missing):
    settings = {**PRODUCTION, **SSO}
    del settings[missing]
    with pytest.raises(ConfigurationError, match=missing):
        create_app(settings)


def test_production_without_an_issuer_starts_without_single_sign_on():
    app = create_app(PRODUCTION)
    assert app.config["OIDC_ISSUER"] is None


def test_production_needs_https_addresses():
    with pytest.raises(ConfigurationError, match="OIDC_ISSUER"):
        create_app({**PRODUCTION, **SSO, "OIDC_ISSUER": "http://sso.onehealthport.example"})
    with pytest.raises(ConfigurationError, match="CQMR_URL"):
        create_app({**PRODUCTION, **SSO, "CQMR_URL": "http://cqmr.example.org/"})


@pytest.mark.parametrize(
    "value", ["/cqmr", "javascript:alert(1)", "cqmr.example.org", "https://cqmr.example.org/#x"]
)
def test_cqmr_addresses_must_be_absolute(value):
    with pytest.raises(ConfigurationError, match="CQMR_URL"):
        create_app({"CQMR_ENV": "test", "SECRET_KEY": "x", "CQMR_URL": value})


def test_login_initiation_needs_the_issuer():
    with pytest.raises(ConfigurationError, match="OIDC_ISSUER"):
        create_app(
            {
                "CQMR_ENV": "test",
                "SECRET_KEY": "x",
                "CQMR_INITIATE_LOGIN_URI": "https://cqmr.example.org/initiate",
            }
        )


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OIDC_ISSUER", "https://sso.onehealthport.example")
    monkeypatch.setenv("OIDC_CLIENT_ID", "from-env")
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("CQMR_INITIATE_LOGIN_URI", "https://cqmr.example.org/initiate")
    app = create_app({**PRODUCTION})
    assert app.config["OIDC_CLIENT_ID"] == "from-env"
    # Forms that start a sign-in or go to the CQMR may be redirected to those sites.
    assert app.config["CSP_FORM_ACTION_EXTRA"] == [
        "https://sso.onehealthport.example",
        "https://cqmr.example.org",
    ]
