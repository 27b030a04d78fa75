"""Configuration in layers: code defaults → instance/config.py → environment → test mapping."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask

DEFAULTS: dict[str, Any] = {
    "CQMR_ENV": "development",
    "SECRET_KEY": None,
    "MFA_ENCRYPTION_KEYS": None,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "SESSION_COOKIE_NAME": "cqmr_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_IDLE_TIMEOUT": timedelta(minutes=30),
    "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=12),
    "WTF_CSRF_TIME_LIMIT": None,
    "WTF_CSRF_SSL_STRICT": True,
    "HSTS": True,
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "CQMR Onboarding <no-reply@cqmr.example.org>",
    "MAIL_OUTBOX": None,
    "EMAIL_TOKEN_TTL": timedelta(hours=24),
    "PASSWORD_RESET_TTL": timedelta(hours=1),
    "PASSWORD_MIN_SCORE": 3,
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "SIGN_IN_LOCKOUT_THRESHOLD": 10,
    "SIGN_IN_LOCKOUT": timedelta(minutes=15),
    "TOTP_ISSUER": "Oregon CQMR",
    "SERVER_NAME_FOR_LINKS": None,
}

# Settings that may come from the environment, with how to read them.
ENV_SETTINGS: dict[str, Any] = {
    "CQMR_ENV": str,
    "SECRET_KEY": str,
    "MFA_ENCRYPTION_KEYS": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": lambda v: v.lower() in {"1", "true", "yes"},
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_SENDER": str,
    "MAIL_OUTBOX": str,
    "SESSION_COOKIE_SECURE": lambda v: v.lower() in {"1", "true", "yes"},
    "HSTS": lambda v: v.lower() in {"1", "true", "yes"},
}

# Secrets that production must be given explicitly.
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "MFA_ENCRYPTION_KEYS", "DATABASE_URL")


class ConfigurationError(RuntimeError):
    """Raised at start-up when a required setting is missing."""


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill `app.config` from every layer and check it."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for key, read in ENV_SETTINGS.items():
        if key in os.environ and os.environ[key] != "":
            app.config[key] = read(os.environ[key])
    if test_config:
        app.config.update(test_config)

    production = app.config["CQMR_ENV"] == "production"
    if production:
        missing = [k for k in REQUIRED_IN_PRODUCTION if not app.config.get(k)]
        if missing:
            raise ConfigurationError(
                f"CQMR_ENV=production requires {missing[0]}: set it in the environment "
                "or in instance/config.py (no development fallback is used in production)."
            )
    else:
        _fill_development_secrets(app)
        if "SESSION_COOKIE_SECURE" not in os.environ and not (test_config or {}).get(
            "SESSION_COOKIE_SECURE"
        ):
            # Local development is plain http on loopback.
            app.config["SESSION_COOKIE_SECURE"] = False
            app.config["HSTS"] = False
            app.config["WTF_CSRF_SSL_STRICT"] = False

    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    if app.config["MAIL_OUTBOX"] is None:
        app.config["MAIL_OUTBOX"] = str(Path(app.instance_path) / "outbox")


def database_uri(app: Flask) -> str:
    """Return the SQLAlchemy URI, using psycopg 3 for PostgreSQL."""
    url = app.config.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + str(Path(app.instance_path) / "cqmr.sqlite3")
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _fill_development_secrets(app: Flask) -> None:
    """Generate development secrets once and keep them in instance/."""
    path = Path(app.instance_path) / "dev-secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text())
    changed = False
    if not app.config.get("SECRET_KEY"):
        if "SECRET_KEY" not in stored:
            stored["SECRET_KEY"] = secrets.token_hex(32)
            changed = True
        app.config["SECRET_KEY"] = stored["SECRET_KEY"]
    if not app.config.get("MFA_ENCRYPTION_KEYS"):
        if "MFA_ENCRYPTION_KEYS" not in stored:
            stored["MFA_ENCRYPTION_KEYS"] = Fernet.generate_key().decode()
            changed = True
        app.config["MFA_ENCRYPTION_KEYS"] = stored["MFA_ENCRYPTION_KEYS"]
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
