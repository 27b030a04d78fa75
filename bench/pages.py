"""Pages over HTTP, as an operator would deploy them: gunicorn (2 sync workers) with production
settings on PostgreSQL (a database created here and dropped after) and Redis sessions, next to a
bare Flask app under the same gunicorn; wrk on loopback, the bare app and the page alternating.
Each page at a large size (10,000 organizations, 100,000 people, one organization of 1,000
members) and a small one (100 organizations, a 10-member organization); results printed and
written to bench/RESULTS.md. Nothing here asserts on time: `make test` never runs it."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from cryptography.fernet import Fernet
from flask_migrate import upgrade

from . import machine
from .http import Measure, download, gunicorn, wrk
from .seed import Seeded, Size, seed

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
SIZES = (Size("small", 100, 1_000, 10), Size("large", 10_000, 100_000, 1_000))
TARGETS = {
    "task list": 20,
    "team page": 10,
    "member page": 10,
    "authenticator set-up": 10,
    "dashboard, first page": 10,
    "dashboard, status filter": 10,
    "audit trail": 10,
}
RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    who: str  # whose session: admin, newcomer, challenged, operator, anonymous
    body: dict[str, str] | None = None


PAGES = (
    Page("help page (anonymous)", "/help", "anonymous"),
    Page("health check", "/healthz", "anonymous"),
    # What every signed-in page costs before its own work: the session, the person, membership,
    # organization and roles (one statement), the access check and the layout.
    Page("help page (signed in)", "/help", "admin"),
    Page("task list", "/tasks", "admin"),
    Page("team page", "/team", "admin"),
    Page("member page", "/team/members/{member}", "admin"),
    Page("authenticator set-up", "/two-step-verification/set-up", "newcomer"),
    Page("TOTP challenge POST (wrong code)", "/two-step-verification/", "challenged", {"code": "000000"}),
    Page(
        "sign-in POST (wrong password, argon2 t=3 m=64 MiB)", "/sign-in", "anonymous", {"password": "x" * 20}
    ),
    Page("dashboard, first page", "/operator/", "operator"),
    Page("dashboard, status filter", "/operator/?task=details&status=NOT_STARTED", "operator"),
    Page("audit trail", "/operator/audit", "operator"),
)


def _environment(database: str, instance: Path) -> dict[str, str]:
    """Production settings with generated secrets; throttles lifted so that a repeated wrong
    code or password keeps doing the work of checking it instead of answering "wait"."""
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "config.py").write_text(
        "MFA_THROTTLE_FREE_ATTEMPTS = 10**9\nMFA_LOCKOUT_THRESHOLD = 10**9\nSIGN_IN_LOCKOUT_THRESHOLD = 10**9\n"
        "SIGN_IN_THROTTLE_FREE_ATTEMPTS = 10**9\n"
        "RATE_LIMIT_SIGN_IN = RATE_LIMIT_SECOND_FACTOR = '1000000 per minute'\n"
        # Plain http on loopback (TLS is the proxy's): a __Host- cookie needs https.
        "SESSION_COOKIE_NAME = 'cqmr_session'\n"
        f"REDIS_PREFIX = 'cqmr-bench-{secrets.token_hex(4)}:'\n"
    )
    return {
        "CQMR_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "MFA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AUDIT_HMAC_KEYS": secrets.token_hex(32),
        "RECOVERY_CODE_KEY": secrets.token_hex(32),
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "REDIS_URL": REDIS,
        "SERVER_NAME_FOR_LINKS": "http://127.0.0.1",
        "SESSION_COOKIE_SECURE": "false",  # plain http on loopback; TLS is the proxy's
        "CQMR_INSTANCE_PATH": str(instance),
    }


def _database(name: str, create: bool) -> None:
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def _app_with(env: dict[str, str], create_app):
    """The app made under these environment variables, which are then put back as they were
    (the benchmarks that follow start processes that inherit this one's environment)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return create_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _sessions(app, seeded: Seeded) -> tuple[dict[str, str], dict[str, str]]:
    """A session cookie for each kind of visitor, and the CSRF token of the form each posts."""
    cookies, tokens = {}, {}
    levels = {
        "admin": (seeded.admin_id, "full"),
        "operator": (seeded.operator_id, "full"),
        "newcomer": (seeded.newcomer_id, "password"),
        "challenged": (seeded.challenged_id, "password"),
    }
    name = app.config["SESSION_COOKIE_NAME"]
    for who, (user_id, level) in levels.items():
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = str(user_id)
            session["auth_level"] = level
            session["auth_method"] = "password"
        if who == "challenged":
            tokens[who] = _csrf(client.get("/two-step-verification/").get_data(as_text=True))
        cookies[who] = f"{name}={client.get_cookie(name).value}"
    anonymous = app.test_client()
    tokens["anonymous"] = _csrf(anonymous.get("/sign-in").get_data(as_text=True))
    cookies["anonymous"] = f"{name}={anonymous.get_cookie(name).value}"
    return cookies, tokens


def measure_size(size: Size) -> dict:
    """Every page and the CSV export at one size."""
    from cqmr_wizard import create_app

    database = f"cqmr_bench_{size.name}"
    _database(database, create=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = _environment(database, Path(tmp) / "instance")
            app = _app_with(env, create_app)
            with app.app_context():
                upgrade(directory=str(Path(app.root_path) / "migrations"))
                print(
                    f"[{size.name}] seeding {size.organizations} organizations, {size.users} people…",
                    flush=True,
                )
                seeded = seed(size)
            cookies, tokens = _sessions(app, seeded)
            wizard, bare = gunicorn("wsgi:app", env, "/healthz"), gunicorn("bench.bare:app", env, "/")
            try:
                return _measure(size, seeded, wizard, bare, cookies, tokens)
            finally:
                wizard.stop()
                bare.stop()
    finally:
        _database(database, create=False)


def _measure(size: Size, seeded: Seeded, wizard, bare, cookies, tokens) -> dict:
    pages: dict[str, tuple[Measure, Measure]] = {}
    for page in PAGES:
        url = wizard.base + page.path.format(member=seeded.member_id)
        body = None
        if page.body is not None:
            fields = {"csrf_token": tokens[page.who], **page.body}
            if page.who == "anonymous":
                fields["email"] = seeded.email_of_challenged
            body = urlencode(fields)
        baseline = wrk(bare.base + "/")
        measured = wrk(url, cookies[page.who], body)
        pages[page.name] = (baseline, measured)
        share = measured.requests_per_second / baseline.requests_per_second * 100
        print(
            f"[{size.name}] {page.name:<52} {measured.requests_per_second:8.1f} req/s  "
            f"p50 {measured.p50_ms:7.1f} ms  p99 {measured.p99_ms:7.1f} ms  {share:5.1f} % of bare Flask"
            + (f"  ({measured.non_2xx} non-2xx/3xx)" if measured.non_2xx else ""),
            flush=True,
        )
    operator = cookies["operator"]
    download(wizard.port, "/operator/organizations.csv?q=no-such-clinic", operator)  # warm both paths
    before = wizard.worker_rss_kib()
    export = download(wizard.port, "/operator/organizations.csv", operator)
    after = wizard.worker_rss_kib()
    growth = max(a - b for a, b in zip(after, before, strict=True)) / 1024
    print(
        f"[{size.name}] CSV export: HTTP {export.status}, {export.size / 1024:.0f} KiB, first byte "
        f"{export.first_byte_ms:.0f} ms, total {export.total_ms:.0f} ms, worker RSS +{growth:.1f} MB",
        flush=True,
    )
    return {"pages": pages, "export": export, "rss_growth_mb": growth}


def main() -> None:
    """Measure both sizes and write bench/RESULTS.md."""
    described = machine.describe()
    results = {size.name: measure_size(size) for size in SIZES}
    report = machine.report(described, SIZES, PAGES, TARGETS, results)
    RESULTS.write_text(report)
    print(report)
