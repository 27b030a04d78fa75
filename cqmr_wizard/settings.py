"""Every setting: its code default, whether the environment may set it, and what production
must be given. `config.load_config` reads these layers and checks the result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .sso_settings import SSO_DEFAULTS, SSO_ENV_SETTINGS

DEFAULTS: dict[str, Any] = {
    "CQMR_ENV": "development",
    "SECRET_KEY": None,
    "MFA_ENCRYPTION_KEYS": None,
    # Key of the HMAC-SHA-256 under which recovery codes are stored (one cheap lookup per try).
    "RECOVERY_CODE_KEY": None,
    "DATABASE_URL": None,
    "REDIS_URL": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # Outages (outages.py): each attempt to reach PostgreSQL gives up after
    # DATABASE_CONNECT_TIMEOUT seconds, and a request waits at most DATABASE_POOL_TIMEOUT for a
    # pooled connection; each Redis connection or command after REDIS_TIMEOUT. The 503 page
    # then asks people to come back after OUTAGE_RETRY_AFTER seconds (its Retry-After).
    "DATABASE_CONNECT_TIMEOUT": 3,
    "DATABASE_POOL_TIMEOUT": 5.0,
    "REDIS_TIMEOUT": 3.0,
    "OUTAGE_RETRY_AFTER": 30,
    # A pooled connection unused this many seconds is pinged before use (db_liveness.py);
    # one in steady use is not, which saves a round trip on every request.
    "DATABASE_PING_AFTER_IDLE": 10.0,
    # Log lines: one JSON object a line ("json", for log shippers) or plain text ("text").
    "LOG_FORMAT": "json",
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
    "MAIL_TLS_CA_FILE": None,  # PEM file of the CAs that may sign the SMTP server's certificate
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
    # Seconds between the clock passes each process's courier runs (background delivery).
    "OUTBOX_CLOCK_INTERVAL": 60,
    # Where links in mail point when built outside a request with neither SERVER_NAME_FOR_LINKS
    # nor SERVER_NAME set (development only: production requires SERVER_NAME_FOR_LINKS).
    # Unset: where `make run` last served (instance/serving-url), else http://127.0.0.1:5000.
    "LINK_BASE_OUTSIDE_REQUESTS": None,
    # The audit chain: comma-separated HMAC keys, newest first (generated in development;
    # required in production), and the append-only file that receives checkpoints.
    "AUDIT_HMAC_KEYS": None,
    "AUDIT_CHECKPOINT_FILE": None,
    # Rows up to this id were written before keyed links (plain SHA-256); 0 on a new database.
    "AUDIT_UNKEYED_THROUGH": 0,
    # `flask purge` (purge.py): what expired is removed this long after it expired; delivered
    # outbox messages are kept OUTBOX_KEEP after delivery (failed ones until an operator acts).
    "PURGE_AFTER": timedelta(days=1),
    "OUTBOX_KEEP": timedelta(days=30),
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
    # A new version of an agreement (`flask agreements load`) is to be signed within this time
    # unless told otherwise; reminders go this many days before its date (each once).
    "AGREEMENT_RESIGN_WINDOW": timedelta(days=60),
    "AGREEMENT_RESIGN_REMINDER_DAYS": "30,7,1",
    # The yearly access review (team/review.py): how often, reminders before it is due (days,
    # comma-separated), and whether an overdue one closes the gate after the grace period.
    "ACCESS_REVIEW_INTERVAL": timedelta(days=365),
    "ACCESS_REVIEW_REMINDER_DAYS": "30,7,1",
    "ACCESS_REVIEW_ENFORCE": False,
    "ACCESS_REVIEW_GRACE": timedelta(days=30),
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
    # Passkeys (WebAuthn). Unset, the relying party id and origin come from
    # SERVER_NAME_FOR_LINKS (required in production), else from the address the browser used
    # (local use). A passkey made for one relying party id works only there.
    "WEBAUTHN_RP_ID": None,
    "WEBAUTHN_ORIGIN": None,
    "WEBAUTHN_RP_NAME": "Oregon CQMR",
    # Registry operators must hold a passkey and sign in with it (not an app code).
    "MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS": False,
    # After an administrator requires passkeys of their organization's members, how long those
    # without one keep signing in with the app (their task list says by when to add one).
    "ORG_PASSKEY_GRACE": timedelta(days=14),
    "SERVER_NAME_FOR_LINKS": None,
    **SSO_DEFAULTS,
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
    # Operations (cqmr_wizard/ops): the bearer token Prometheus scrapes /metrics with (unset:
    # no such page); how long each /readyz check may take; past what age of the oldest due
    # outbox message /readyz reports the outbox not ok (reported only: it never makes a 503).
    "METRICS_TOKEN": None,
    "READY_CHECK_TIMEOUT": 2.0,
    "READY_OUTBOX_MAX_AGE": timedelta(minutes=15),
}


def switched_on(value: str) -> bool:
    """An environment variable's yes/no: "1", "true" or "yes" (any case) mean yes."""
    return value.lower() in {"1", "true", "yes"}


def seconds(value: str) -> timedelta:
    """An environment variable's duration, in seconds."""
    return timedelta(seconds=float(value))


# Settings that may come from the environment, with how to read them.
ENV_SETTINGS: dict[str, Any] = {
    "CQMR_ENV": str,
    "SECRET_KEY": str,
    "MFA_ENCRYPTION_KEYS": str,
    "RECOVERY_CODE_KEY": str,
    "DATABASE_URL": str,
    "REDIS_URL": str,
    "DATABASE_PING_AFTER_IDLE": float,
    "DATABASE_CONNECT_TIMEOUT": int,
    "DATABASE_POOL_TIMEOUT": float,
    "REDIS_TIMEOUT": float,
    "OUTAGE_RETRY_AFTER": int,
    "LOG_FORMAT": str,
    "MAIL_SERVER": str,
    "MAIL_PORT": int,
    "MAIL_USE_TLS": switched_on,
    "MAIL_TLS_CA_FILE": str,
    "MAIL_USERNAME": str,
    "MAIL_PASSWORD": str,
    "MAIL_SENDER": str,
    "MAIL_OUTBOX": str,
    "MAIL_TIMEOUT": int,
    "OUTBOX_DELIVERY": str,
    "OUTBOX_MAX_ATTEMPTS": int,
    "OUTBOX_POLL_INTERVAL": int,
    "OUTBOX_CLOCK_INTERVAL": int,
    "LINK_BASE_OUTSIDE_REQUESTS": str,
    "AUDIT_HMAC_KEYS": str,
    "AUDIT_CHECKPOINT_FILE": str,
    "AUDIT_UNKEYED_THROUGH": int,
    "SESSION_COOKIE_SECURE": switched_on,
    "HSTS": switched_on,
    "PROXY_COUNT": int,
    "SERVER_NAME_FOR_LINKS": str,
    **SSO_ENV_SETTINGS,
    "WEBAUTHN_RP_ID": str,
    "WEBAUTHN_ORIGIN": str,
    "WEBAUTHN_RP_NAME": str,
    "MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS": switched_on,
    "CQMR_INITIATE_LOGIN_URI": str,
    "CQMR_TARGET_LINK_URI": str,
    "CQMR_URL": str,
    "CQMR_SCIM_URL": str,
    "CQMR_SCIM_TOKEN": str,
    "CQMR_SCIM_TIMEOUT": int,
    "METRICS_TOKEN": str,
    "READY_CHECK_TIMEOUT": float,
    "READY_OUTBOX_MAX_AGE": seconds,
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
LOG_FORMATS = ("json", "text")

# Outside production the app is served over plain http on loopback, unless a layer says otherwise.
LOCAL_DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_SECURE": False,
    "HSTS": False,
    "WTF_CSRF_SSL_STRICT": False,
}


# In production the session cookie carries the `__Host-` prefix: browsers then accept it only
# when Secure, for Path=/ and without a Domain, so no sibling host can set or shadow it.
PRODUCTION_DEFAULTS: dict[str, Any] = {"SESSION_COOKIE_NAME": "__Host-cqmr_session"}
