"""Configuration in layers: code defaults → instance/config.py → environment → test mapping."""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from flask import Config, Flask

from .audit.keys import AuditKeyError
from .audit.keys import parse_keys as parse_audit_keys

DEFAULTS: dict[str, Any] = {
    "CQMR_ENV": "development",
    "SECRET_KEY": None,
    "MFA_ENCRYPTION_KEYS": None,
    # Key of the HMAC-SHA-256 under which recovery codes are stored (one cheap lookup per try).
    "RECOVERY_CODE_KEY": None,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # A returned signed agreement (scanned PDF) may be this large; its page alone lifts the
    # request limit above MAX_CONTENT_LENGTH.
    "AGREEMENT_UPLOAD_MAX_BYTES": 10 * 1024 * 1024,
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
    "MAIL_TIMEOUT": 10,  # seconds for each SMTP conversation
    # The outbox (cqmr_wizard/outbox): after commit, the request's own process delivers its
    # messages on a background thread ("background"), in the committing thread ("inline", for
    # tests), or leaves them to `flask outbox deliver` ("worker"). Failures retry with
    # exponential backoff from OUTBOX_RETRY_BASE up to OUTBOX_RETRY_MAX; after
    # OUTBOX_MAX_ATTEMPTS a message is marked failed for operators to see and retry.
    "OUTBOX_DELIVERY": "background",
    "OUTBOX_RETRY_BASE": timedelta(seconds=30),
    "OUTBOX_RETRY_MAX": timedelta(hours=1),
    "OUTBOX_MAX_ATTEMPTS": 10,
    "OUTBOX_LEASE": timedelta(minutes=5),  # longer than any one delivery may take
    "OUTBOX_POLL_INTERVAL": 5,  # seconds between polls of `flask outbox deliver --loop`
    # Where links in mail point when built outside a request with neither SERVER_NAME_FOR_LINKS
    # nor SERVER_NAME set (development only: production requires SERVER_NAME_FOR_LINKS).
    "LINK_BASE_OUTSIDE_REQUESTS": "http://127.0.0.1:5000",
    # The audit chain: comma-separated HMAC keys, newest first (generated in development;
    # required in production), and the append-only file that receives checkpoints.
    "AUDIT_HMAC_KEYS": None,
    "AUDIT_CHECKPOINT_FILE": None,
    # Rows up to this id were written before keyed links (plain SHA-256); 0 on a new database.
    "AUDIT_UNKEYED_THROUGH": 0,
    "EMAIL_TOKEN_TTL": timedelta(hours=24),
    "PASSWORD_RESET_TTL": timedelta(hours=1),
    "INVITATION_TTL": timedelta(days=7),
    "INVITATION_RATE_LIMIT": 50,  # invitation emails per organization per window
    "INVITATION_RATE_WINDOW": timedelta(hours=1),
    "INVITATION_CSV_MAX_BYTES": 256 * 1024,
    "INVITATION_CSV_MAX_ROWS": 500,
    "TEAM_PAGE_SIZE": 20,
    # Operator console, reminders (`flask reminders send`) and training materials.
    "OPERATOR_PAGE_SIZE": 25,
    "REMINDER_INTERVAL": timedelta(days=7),  # at most one reminder of a kind per recipient
    "REMINDER_STALLED_DAYS": 14,  # days without activity before a reminder
    "TRAINING_PDF_MAX_BYTES": 10 * 1024 * 1024,
    "PASSWORD_MIN_SCORE": 3,
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    # Sign-in throttling (NIST SP 800-63B §5.2.2). Per email address and source address: after
    # SIGN_IN_THROTTLE_FREE_ATTEMPTS failures each failure doubles the wait before the next try
    # from there (SIGN_IN_THROTTLE_BASE_DELAY up to SIGN_IN_THROTTLE_MAX_DELAY). Per account,
    # from anywhere: SIGN_IN_LOCKOUT_THRESHOLD consecutive failures lock it for SIGN_IN_LOCKOUT,
    # and the owner is mailed a link that lifts the lock.
    "SIGN_IN_THROTTLE_FREE_ATTEMPTS": 5,
    "SIGN_IN_THROTTLE_BASE_DELAY": timedelta(seconds=2),
    "SIGN_IN_THROTTLE_MAX_DELAY": timedelta(minutes=15),
    "SIGN_IN_LOCKOUT_THRESHOLD": 100,
    "SIGN_IN_LOCKOUT": timedelta(hours=1),
    # Per-source limits (Flask-Limiter syntax), counted on POST only. The store is Redis when
    # REDIS_URL is set, otherwise the database; never one worker's memory.
    "RATELIMIT_STORAGE_URI": None,
    "THROTTLE_KEY_PREFIX": "cqmr",
    "RATE_LIMIT_SIGN_IN": "30 per minute; 300 per hour",
    "RATE_LIMIT_SIGN_UP": "10 per minute; 50 per hour",
    "RATE_LIMIT_PASSWORD_RESET": "5 per 15 minutes; 20 per day",
    "RATE_LIMIT_RESEND_VERIFICATION": "5 per 15 minutes; 20 per day",
    "RATE_LIMIT_INVITATION": "20 per minute; 200 per hour",
    "RATE_LIMIT_SECOND_FACTOR": "30 per minute; 300 per hour",
    "TOTP_ISSUER": "Oregon CQMR",
    # Second factor: after MFA_THROTTLE_FREE_ATTEMPTS failures each attempt waits twice as long
    # (from MFA_THROTTLE_BASE_DELAY up to MFA_THROTTLE_MAX_DELAY); MFA_LOCKOUT_THRESHOLD
    # consecutive failures lock it for MFA_LOCKOUT.
    "MFA_THROTTLE_FREE_ATTEMPTS": 3,
    "MFA_THROTTLE_BASE_DELAY": timedelta(seconds=1),
    "MFA_THROTTLE_MAX_DELAY": timedelta(minutes=5),
    "MFA_LOCKOUT_THRESHOLD": 10,
    "MFA_LOCKOUT": timedelta(minutes=15),
    # How long a passed code counts as "fresh" for changing the second factor.
    "MFA_FRESH_WINDOW": timedelta(minutes=10),
    "SERVER_NAME_FOR_LINKS": None,
    # OneHealthPort single sign-on (OpenID Connect); unset OIDC_ISSUER turns SSO off.
    "OIDC_ISSUER": None,
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    # A PEM private key: authenticate at the token endpoint with private_key_jwt (RFC 7523)
    # when the provider supports it; its public key is registered with the provider.
    "OIDC_CLIENT_KEY": None,
    "OIDC_SCOPES": "openid email profile ohp",
    "OIDC_METADATA_URL": None,  # default: OIDC_ISSUER + /.well-known/openid-configuration
    "OIDC_ID_TOKEN_ALGS": ["RS256", "PS256", "ES256"],
    "OIDC_CLOCK_LEEWAY": 60,  # seconds of clock skew tolerated on ID token times
    "OIDC_TIMEOUT": 10,  # seconds for each call to the provider
    "OIDC_FLOW_TTL": timedelta(minutes=15),  # how long a started sign-in may take
    "OHP_REGISTRATION_URL": "https://www.onehealthport.com/",
    # The "Go to CQMR" gate: OIDC third-party-initiated login, or a plain address.
    "CQMR_INITIATE_LOGIN_URI": None,
    "CQMR_TARGET_LINK_URI": None,
    "CQMR_URL": None,
    # Who people contact about onboarding, and the agency links the page footer carries.
    "PROGRAM_CONTACT_EMAIL": "cqmr.program@oha.oregon.gov",
    "PROGRAM_CONTACT_PHONE": "503-555-0199",
    "PROGRAM_CONTACT_HOURS": "Monday to Friday, 8 a.m. to 5 p.m. Pacific time, except state holidays",
    "AGENCY_NAME": "Oregon Health Authority",
    "AGENCY_URL": "https://www.oregon.gov/oha/",
    "PRIVACY_URL": "https://www.oregon.gov/pages/terms-and-conditions.aspx",
    "ACCESSIBILITY_URL": "https://www.oregon.gov/pages/accessibility.aspx",
    # Provisioning into the CQMR (SCIM 2.0); unset CQMR_SCIM_URL turns provisioning off.
    "CQMR_SCIM_URL": None,
    "CQMR_SCIM_TOKEN": None,
    "CQMR_SCIM_TIMEOUT": 10,  # seconds for each SCIM call
}

# Settings that may come from the environment, with how to read them.
ENV_SETTINGS: dict[str, Any] = {
    "CQMR_ENV": str,
    "SECRET_KEY": str,
    "MFA_ENCRYPTION_KEYS": str,
    "RECOVERY_CODE_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": lambda v: v.lower() in {"1", "true", "yes"},
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_SENDER": str,
    "MAIL_OUTBOX": str,
    "MAIL_TIMEOUT": int,
    "OUTBOX_DELIVERY": str,
    "OUTBOX_MAX_ATTEMPTS": int,
    "OUTBOX_POLL_INTERVAL": int,
    "LINK_BASE_OUTSIDE_REQUESTS": str,
    "AUDIT_HMAC_KEYS": str,
    "AUDIT_CHECKPOINT_FILE": str,
    "AUDIT_UNKEYED_THROUGH": int,
    "SESSION_COOKIE_SECURE": lambda v: v.lower() in {"1", "true", "yes"},
    "HSTS": lambda v: v.lower() in {"1", "true", "yes"},
    "PROXY_COUNT": int,
    "SERVER_NAME_FOR_LINKS": str,
    "OIDC_ISSUER": str,
    "OIDC_CLIENT_ID": str,
    "OIDC_CLIENT_SECRET": str,
    "OIDC_CLIENT_KEY": str,
    "OIDC_SCOPES": str,
    "OIDC_METADATA_URL": str,
    "OHP_REGISTRATION_URL": str,
    "CQMR_INITIATE_LOGIN_URI": str,
    "CQMR_TARGET_LINK_URI": str,
    "CQMR_URL": str,
    "CQMR_SCIM_URL": str,
    "CQMR_SCIM_TOKEN": str,
    "CQMR_SCIM_TIMEOUT": int,
    "AGREEMENT_UPLOAD_MAX_BYTES": int,
    "PROGRAM_CONTACT_EMAIL": str,
    "PROGRAM_CONTACT_PHONE": str,
    "PROGRAM_CONTACT_HOURS": str,
    "AGENCY_NAME": str,
    "AGENCY_URL": str,
    "PRIVACY_URL": str,
    "ACCESSIBILITY_URL": str,
}

ENVIRONMENTS = ("development", "test", "production")

# Settings that production must be given explicitly. Links in mail need a configured base:
# built from the request's Host header, a reset link could be made to point anywhere.
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "MFA_ENCRYPTION_KEYS",
    "AUDIT_HMAC_KEYS",
    "RECOVERY_CODE_KEY",
    "DATABASE_URL",
    "SERVER_NAME_FOR_LINKS",
)
OUTBOX_DELIVERY_MODES = ("background", "inline", "worker")

# Outside production the app is served over plain http on loopback, unless a layer says otherwise.
LOCAL_DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_SECURE": False,
    "HSTS": False,
    "WTF_CSRF_SSL_STRICT": False,
}


# In production the session cookie carries the `__Host-` prefix: browsers then accept it only
# when Secure, for Path=/ and without a Domain, so no sibling host can set or shadow it.
PRODUCTION_DEFAULTS: dict[str, Any] = {"SESSION_COOKIE_NAME": "__Host-cqmr_session"}


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

    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)
    if app.config["MAIL_OUTBOX"] is None:
        app.config["MAIL_OUTBOX"] = str(Path(app.instance_path) / "outbox")
    if app.config["AUDIT_CHECKPOINT_FILE"] is None:
        app.config["AUDIT_CHECKPOINT_FILE"] = str(Path(app.instance_path) / "audit-checkpoints.jsonl")


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
    issuer = app.config.get("OIDC_ISSUER")
    if issuer and production:
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
            "CQMR_INITIATE_LOGIN_URI needs OIDC_ISSUER: the CQMR is told which provider to use."
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
    if not app.config.get("AUDIT_HMAC_KEYS"):
        if "AUDIT_HMAC_KEYS" not in stored:
            stored["AUDIT_HMAC_KEYS"] = secrets.token_hex(32)
            changed = True
        app.config["AUDIT_HMAC_KEYS"] = stored["AUDIT_HMAC_KEYS"]
    if not app.config.get("RECOVERY_CODE_KEY"):
        if "RECOVERY_CODE_KEY" not in stored:
            stored["RECOVERY_CODE_KEY"] = secrets.token_hex(32)
            changed = True
        app.config["RECOVERY_CODE_KEY"] = stored["RECOVERY_CODE_KEY"]
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
