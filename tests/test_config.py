"""Configuration in layers: code defaults → instance/config.py → environment → test mapping."""

import json
import stat

import pytest
from cryptography.fernet import Fernet
from flask import request

from cqmr_wizard import create_app
from cqmr_wizard.access import Access, allow
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


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """An empty instance folder and an environment with none of the app's settings."""
    for key in ENV_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "instance"
    path.mkdir()
    monkeypatch.setenv("CQMR_INSTANCE_PATH", str(path))
    return path


def test_each_layer_overrides_the_one_before(instance, monkeypatch):
    (instance / "config.py").write_text(
        "MAIL_SENDER = 'from-instance@example.org'\nMAIL_PORT = 2525\nTOTP_ISSUER = 'Instance'\n"
    )
    monkeypatch.setenv("MAIL_PORT", "2626")
    monkeypatch.setenv("MAIL_SENDER", "from-env@example.org")
    app = create_app({"MAIL_SENDER": "from-test@example.org"})
    assert app.config["TOTP_ISSUER"] == "Instance"  # instance over code default
    assert app.config["MAIL_PORT"] == 2626  # environment over instance, and read as a number
    assert app.config["MAIL_SENDER"] == "from-test@example.org"  # test mapping over everything


def test_development_generates_secrets_once_and_keeps_them_private(instance):
    first = create_app()
    second = create_app()
    stored = json.loads((instance / "dev-secrets.json").read_text())
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == stored["SECRET_KEY"]
    assert len(stored["SECRET_KEY"]) >= 32
    Fernet(first.config["MFA_ENCRYPTION_KEYS"])  # a usable key
    assert (
        first.config["AUDIT_HMAC_KEYS"] == stored["AUDIT_HMAC_KEYS"] and len(stored["AUDIT_HMAC_KEYS"]) >= 32
    )
    assert stat.S_IMODE((instance / "dev-secrets.json").stat().st_mode) == 0o600
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance}/cqmr.sqlite3"
    assert first.config["MAIL_OUTBOX"] == str(instance / "outbox")


def test_development_serves_plain_http_unless_a_layer_says_otherwise(instance):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["HSTS"] is False
    (instance / "config.py").write_text("SESSION_COOKIE_SECURE = True\nHSTS = True\n")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["HSTS"] is True


@pytest.mark.parametrize(
    "missing",
    ["SECRET_KEY", "MFA_ENCRYPTION_KEYS", "AUDIT_HMAC_KEYS", "DATABASE_URL", "SERVER_NAME_FOR_LINKS"],
)
def test_production_refuses_to_start_without_a_setting(instance, missing):
    settings = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigurationError, match=f"requires {missing}"):
        create_app(settings)
    assert not (instance / "dev-secrets.json").exists()


def test_audit_keys_too_short_to_be_secret_are_refused_at_start(instance):
    with pytest.raises(ConfigurationError, match="AUDIT_HMAC_KEYS"):
        create_app({**PRODUCTION, "AUDIT_HMAC_KEYS": f"{'n' * 64},short"})


def test_production_from_the_environment_is_strict(instance, monkeypatch):
    for key, value in PRODUCTION.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", "postgres://cqmr@db.internal/cqmr")
    monkeypatch.setenv("PROXY_COUNT", "1")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://cqmr@db.internal/cqmr"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["HSTS"] is True
    assert app.config["WTF_CSRF_SSL_STRICT"] is True
    assert app.config["PROXY_COUNT"] == 1
    assert not (instance / "dev-secrets.json").exists()


def test_an_unknown_environment_name_is_refused(instance):
    # A typo must not quietly turn production into development with generated secrets.
    with pytest.raises(ConfigurationError, match="CQMR_ENV='prodution' is not known"):
        create_app({**PRODUCTION, "CQMR_ENV": "prodution"})


def test_an_unreadable_environment_value_names_the_setting(instance, monkeypatch):
    monkeypatch.setenv("MAIL_PORT", "twenty-five")
    with pytest.raises(ConfigurationError, match="MAIL_PORT"):
        create_app()


def test_proxy_headers_are_trusted_only_when_configured(instance):
    def where():
        return {"addr": request.remote_addr, "scheme": request.scheme}

    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    seen = {}
    for name, settings in {"proxied": {"PROXY_COUNT": 1}, "direct": {}}.items():
        app = create_app(settings)
        app.add_url_rule("/where", "where", allow(Access.PUBLIC)(where))
        seen[name] = app.test_client().get("/where", headers=headers).get_json()
    assert seen["proxied"] == {"addr": "203.0.113.9", "scheme": "https"}
    assert seen["direct"] == {"addr": "127.0.0.1", "scheme": "http"}
