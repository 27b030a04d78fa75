"""Configuration in layers: code defaults (settings.py) → instance/config.py → environment → test
mapping; then the checks that refuse to start with a setting missing or wrong."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from flask import Config, Flask

from .audit.keys import AuditKeyError
from .audit.keys import parse_keys as parse_audit_keys
from .outages import redis_client_options
from .settings import (
    DEFAULTS,
    ENV_SETTINGS,
    ENVIRONMENTS,
    LOCAL_DEFAULTS,
    LOG_FORMATS,
    OUTBOX_DELIVERY_MODES,
    PRODUCTION_DEFAULTS,
    REQUIRED_IN_PRODUCTION,
)

# Secrets a development instance makes for itself once, and how.
DEVELOPMENT_SECRETS: dict[str, Callable[[], str]] = {
    "SECRET_KEY": lambda: secrets.token_hex(32),
    "MFA_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
    "AUDIT_HMAC_KEYS": lambda: secrets.token_hex(32),
    "RECOVERY_CODE_KEY": lambda: secrets.token_hex(32),
}

# `make run` writes where it serves here, so that commands run beside it (in another shell,
# on another PORT) build links to that address.
SERVING_URL_FILE = "serving-url"
DEFAULT_SERVING_URL = "http://127.0.0.1:5000"


class ConfigurationError(RuntimeError):
    """Raised at start-up when a required setting is missing."""


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill `app.config` from every layer and check it."""
    explicit = _explicit_settings(app, test_config)
    environment = explicit.get("CQMR_ENV", DEFAULTS["CQMR_ENV"])
    if environment not in ENVIRONMENTS:
        raise ConfigurationError(
            f"CQMR_ENV={environment!r} is not known: use one of {', '.join(ENVIRONMENTS)}."
        )
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(PRODUCTION_DEFAULTS if environment == "production" else LOCAL_DEFAULTS)
    app.config.from_mapping(explicit)
    if app.config["SESSION_COOKIE_NAME"].startswith("__Host-") and not app.config["SESSION_COOKIE_SECURE"]:
        raise ConfigurationError(
            "SESSION_COOKIE_NAME starts with __Host-, which browsers accept only on a secure "
            "cookie: turn SESSION_COOKIE_SECURE on (and serve over HTTPS)."
        )

    if environment == "production":
        missing = [k for k in REQUIRED_IN_PRODUCTION if not app.config.get(k)]
        if missing:
            raise ConfigurationError(
                f"CQMR_ENV=production requires {missing[0]}: set it in the environment "
                "or in instance/config.py (no development fallback is used in production)."
            )
    else:
        _fill_development_secrets(app)
    _check_single_sign_on(app, production=environment == "production")
    _choose_rate_limit_store(app)

    try:
        parse_audit_keys(app.config["AUDIT_HMAC_KEYS"])
    except AuditKeyError as error:
        raise ConfigurationError(str(error)) from None
    if app.config["OUTBOX_DELIVERY"] not in OUTBOX_DELIVERY_MODES:
        raise ConfigurationError(
            f"OUTBOX_DELIVERY={app.config['OUTBOX_DELIVERY']!r} is not known: "
            f"use one of {', '.join(OUTBOX_DELIVERY_MODES)}."
        )
    if app.config["LOG_FORMAT"] not in LOG_FORMATS:
        raise ConfigurationError(
            f"LOG_FORMAT={app.config['LOG_FORMAT']!r} is not known: use one of {', '.join(LOG_FORMATS)}."
        )

    app.config["SQLALCHEMY_DATABASE_URI"] = uri = database_uri(app)
    _bound_database_connections(app, uri)
    if app.config["MAIL_OUTBOX"] is None:
        app.config["MAIL_OUTBOX"] = str(Path(app.instance_path) / "outbox")
    if app.config["AUDIT_CHECKPOINT_FILE"] is None:
        app.config["AUDIT_CHECKPOINT_FILE"] = str(Path(app.instance_path) / "audit-checkpoints.jsonl")
    if not app.config["LINK_BASE_OUTSIDE_REQUESTS"]:
        app.config["LINK_BASE_OUTSIDE_REQUESTS"] = serving_url(app)


def serving_url(app: Flask) -> str:
    """Where `make run` last served (instance/serving-url), else its default address."""
    path = Path(app.instance_path) / SERVING_URL_FILE
    try:
        written = path.read_text().strip()
    except OSError:
        return DEFAULT_SERVING_URL
    return written or DEFAULT_SERVING_URL


def _explicit_settings(app: Flask, test_config: dict[str, Any] | None) -> dict[str, Any]:
    """Return what instance/config.py, the environment and the test mapping set, in that order."""
    layer = Config(app.config.root_path)
    layer.from_pyfile("config.py", silent=True)
    explicit: dict[str, Any] = dict(layer)
    for key, read in ENV_SETTINGS.items():
        if os.environ.get(key, "") != "":
            try:
                explicit[key] = read(os.environ[key])
            except ValueError:
                raise ConfigurationError(
                    f"The environment variable {key}={os.environ[key]!r} is not valid."
                ) from None
    explicit.update(test_config or {})
    return explicit


def _check_single_sign_on(app: Flask, production: bool) -> None:
    """Refuse half-configured single sign-on and redirect targets that are not absolute URLs."""
    protocol = app.config["SSO_PROTOCOL"]
    if protocol not in ("oidc", "saml"):
        raise ConfigurationError(f"SSO_PROTOCOL={protocol!r} must be oidc or saml.")
    saml = protocol == "saml"
    issuer = app.config.get("SAML_IDP_METADATA") if saml else app.config.get("OIDC_ISSUER")
    if (
        issuer
        and saml
        and production
        and not (app.config.get("SAML_IDP_CERT_FILE") or app.config.get("SAML_IDP_CERT_FINGERPRINT"))
    ):
        raise ConfigurationError(
            "SAML_IDP_METADATA is set, so CQMR_ENV=production requires the IdP's signing certificate "
            "pinned: set SAML_IDP_CERT_FILE or SAML_IDP_CERT_FINGERPRINT."
        )
    if issuer and production and not saml:
        for key in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
            if not app.config.get(key):
                raise ConfigurationError(
                    f"OIDC_ISSUER is set, so CQMR_ENV=production requires {key}: set it in the "
                    "environment or in instance/config.py."
                )
    if app.config.get("CQMR_SCIM_URL") and not app.config.get("CQMR_SCIM_TOKEN"):
        raise ConfigurationError(
            "CQMR_SCIM_URL is set, so CQMR_SCIM_TOKEN is required: the CQMR's SCIM service "
            "accepts only calls carrying its bearer token."
        )
    if app.config.get("CQMR_INITIATE_LOGIN_URI") and not issuer:
        raise ConfigurationError(
            "CQMR_INITIATE_LOGIN_URI needs single sign-on (OIDC_ISSUER, or SAML_IDP_METADATA with "
            "SSO_PROTOCOL=saml): the CQMR is told which provider to use."
        )
    for key in (
        "OIDC_ISSUER",
        "OIDC_METADATA_URL",
        "CQMR_INITIATE_LOGIN_URI",
        "CQMR_TARGET_LINK_URI",
        "CQMR_URL",
        "CQMR_SCIM_URL",
        "OHP_REGISTRATION_URL",
    ):
        value = app.config.get(key)
        if not value:
            continue
        parts = urlsplit(value)
        schemes = ("https",) if production else ("https", "http")
        if parts.scheme not in schemes or not parts.netloc or parts.fragment:
            raise ConfigurationError(f"{key}={value!r} must be an absolute {' or '.join(schemes)} address.")


def _choose_rate_limit_store(app: Flask) -> None:
    """Redis when REDIS_URL is set, otherwise the database: a store every worker shares."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL") or "cqmr-database://"
    if uri.startswith(("memory:", "async+memory:")):
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI must be a store every worker shares (Redis or the database), "
            "not one process's memory."
        )
    app.config["RATELIMIT_STORAGE_URI"] = uri
    if uri.startswith(("redis", "rediss", "unix")):
        given = app.config.get("RATELIMIT_STORAGE_OPTIONS", {})
        bounded = redis_client_options(float(app.config["REDIS_TIMEOUT"]))
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {**bounded, **given}
    # Fail closed: with its store down, a throttled form answers 503, never goes unthrottled.
    for key in ("RATELIMIT_SWALLOW_ERRORS", "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"):
        if app.config.get(key):
            raise ConfigurationError(
                f"{key} would let sign-in guesses through unthrottled while the rate-limit store "
                "is down: leave it off (the pages answer 503 until the store is back)."
            )


def _bound_database_connections(app: Flask, uri: str) -> None:
    """Bound each connection attempt to PostgreSQL and each wait for a pooled connection."""
    if not uri.startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    # libpq counts whole seconds (and treats less than 2 as 2).
    connect_args.setdefault("connect_timeout", max(1, int(app.config["DATABASE_CONNECT_TIMEOUT"])))
    options["connect_args"] = connect_args
    options.setdefault("pool_timeout", float(app.config["DATABASE_POOL_TIMEOUT"]))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


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
    for key, generate in DEVELOPMENT_SECRETS.items():
        if not app.config.get(key):
            if key not in stored:
                stored[key] = generate()
                changed = True
            app.config[key] = stored[key]
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
