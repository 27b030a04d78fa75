"""Issue 15, item 2: per-source limits (Flask-Limiter, on Redis or the shared database) and
per account-and-source sign-in delays that no one can turn into a lock-out of the owner."""

from __future__ import annotations

import re
import secrets

import pytest
import redis

from .builders import make_user
from .helpers import csrf_from, link_from, page_text, sign_in
from .mfa_helpers import password_only

REDIS_URL = "redis://127.0.0.1:6379/0"
STORES = ["database", "redis"]
RETRY = re.compile(r"Try again after \d\d:\d\d:\d\d UTC \(in about \d+ (seconds?|minutes?)\)")


def build(app_factory, store: str, **settings):
    """An app whose limits are low, on the given store, with a key prefix of its own."""
    prefix = f"t15{secrets.token_hex(4)}"
    if store == "redis":
        settings.update(REDIS_URL=REDIS_URL, REDIS_PREFIX=f"{prefix}:")
    return app_factory(THROTTLE_KEY_PREFIX=prefix, **settings)


def post(client, url: str, data: dict | None = None):
    """POST with the session's CSRF token (taken from the sign-in page or the page itself)."""
    page = client.get(url)
    source = page if page.status_code == 200 and "csrf_token" in page.get_data(as_text=True) else None
    token = csrf_from((source or client.get("/sign-in")).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})})


def assert_paused(response) -> None:
    assert response.status_code == 429
    text = page_text(response)
    assert RETRY.search(text), text
    assert int(response.headers["Retry-After"]) >= 1


ANONYMOUS_FORMS = [
    ("RATE_LIMIT_SIGN_IN", "/sign-in", {"email": "x@example.org", "password": "not the password 1"}),
    ("RATE_LIMIT_SIGN_UP", "/sign-up", {"full_name": "X", "email": "x@example.org", "password": "short"}),
    ("RATE_LIMIT_PASSWORD_RESET", "/reset-password", {"email": "x@example.org"}),
    ("RATE_LIMIT_RESEND_VERIFICATION", "/verify-email/resend", {"email": "x@example.org"}),
    ("RATE_LIMIT_INVITATION", "/invitations/no-such-invitation-token", {}),
]


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize(("setting", "url", "data"), ANONYMOUS_FORMS, ids=[f[1] for f in ANONYMOUS_FORMS])
def test_each_anonymous_form_is_limited_per_source(app_factory, store, setting, url, data, mailbox):
    app = build(app_factory, store, **{setting: "2 per minute"})
    client = app.test_client()
    for _ in range(2):
        assert post(client, url, data).status_code != 429
    assert_paused(post(client, url, data))
    assert client.get(url if url != "/verify-email/resend" else "/check-your-email").status_code != 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    assert post(elsewhere, url, data).status_code != 429


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("url", ["/two-step-verification/", "/two-step-verification/recovery-code"])
def test_second_factor_pages_are_limited_per_source(app_factory, store, url):
    app = build(app_factory, store, RATE_LIMIT_SECOND_FACTOR="2 per minute", MFA_THROTTLE_FREE_ATTEMPTS=50)
    make_user(app)
    client = app.test_client()
    password_only(client)
    field = {"code": "000000"} if url.endswith("/") else {"recovery_code": "zzzz-zzzz-zzzz-zzzz"}
    for _ in range(2):
        assert post(client, url, field).status_code == 400
    paused = post(client, url, field)
    assert_paused(paused)
    assert "used too many times from your network" in page_text(paused)


def test_reset_mails_stop_at_the_limit(app_factory, mailbox):
    app = build(app_factory, "database", RATE_LIMIT_PASSWORD_RESET="3 per 15 minutes")
    make_user(app)
    client = app.test_client()
    statuses = [post(client, "/reset-password", {"email": "pat@example.org"}).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert len(mailbox.to("pat@example.org")) == 3


@pytest.mark.parametrize("store", STORES)
def test_the_count_is_shared_by_every_worker(app_factory, store):
    settings = {"RATE_LIMIT_SIGN_IN": "3 per minute"}
    first = build(app_factory, store, **settings)
    prefix = first.config["THROTTLE_KEY_PREFIX"]
    for _ in range(3):
        assert post(first.test_client(), "/sign-in", ANONYMOUS_FORMS[0][2]).status_code == 400
    # A second worker (a new process would build its app the same way) sees the same count.
    second = app_factory(**{**settings, "THROTTLE_KEY_PREFIX": prefix, **redis_settings(first)})
    assert_paused(post(second.test_client(), "/sign-in", ANONYMOUS_FORMS[0][2]))


def redis_settings(app) -> dict:
    return {k: app.config[k] for k in ("REDIS_URL", "REDIS_PREFIX") if app.config.get(k)}


def test_the_client_address_comes_from_the_trusted_proxy(app_factory):
    app = build(app_factory, "database", PROXY_COUNT=1, RATE_LIMIT_SIGN_IN="2 per minute")
    data = ANONYMOUS_FORMS[0][2]
    one, two = app.test_client(), app.test_client()
    one.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.1"
    two.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    for _ in range(2):
        assert post(one, "/sign-in", data).status_code == 400
    assert_paused(post(one, "/sign-in", data))
    assert post(two, "/sign-in", data).status_code == 400


def test_redis_is_the_store_when_configured(app_factory):
    app = build(app_factory, "redis", RATE_LIMIT_SIGN_IN="5 per minute")
    assert post(app.test_client(), "/sign-in", ANONYMOUS_FORMS[0][2]).status_code == 400
    keys = redis.Redis.from_url(REDIS_URL).keys(f"*{app.config['THROTTLE_KEY_PREFIX']}*")
    assert keys


DELAYS = {"SIGN_IN_THROTTLE_FREE_ATTEMPTS": 2, "RATE_LIMIT_SIGN_IN": "100 per minute"}


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.mark.parametrize("email", ["pat@example.org", "nobody@example.org"])
def test_failures_slow_down_only_their_source_and_reveal_no_account(app_factory, email):
    app = app_factory(**DELAYS)
    make_user(app)
    attacker = from_address(app, "192.0.2.66")
    for _ in range(2):
        wrong = sign_in(attacker, email, password="not the password at all")
        assert wrong.status_code == 400
        assert "The email address or password is not right" in page_text(wrong)
    waiting = sign_in(attacker, email, password="not the password at all")
    assert_paused(waiting)
    assert "Too many unsuccessful attempts" in page_text(waiting)
    # The right password does not help the attacker's source while it waits ...
    assert sign_in(attacker, "pat@example.org").status_code == (429 if email == "pat@example.org" else 302)
    # ... and the owner, elsewhere, is not locked out.
    assert sign_in(from_address(app, "198.51.100.20")).status_code == 302


def test_the_owner_lifts_a_lock_with_the_mailed_link(app_factory, mailbox):
    app = app_factory(SIGN_IN_LOCKOUT_THRESHOLD=3, SIGN_IN_THROTTLE_FREE_ATTEMPTS=100)
    make_user(app)
    for i in range(3):
        sign_in(from_address(app, f"192.0.2.{i}"), password="not the password at all")
    owner = app.test_client()
    locked = sign_in(owner)
    unknown = sign_in(app.test_client(), "nobody@example.org")
    assert locked.status_code == unknown.status_code == 400
    assert page_text(locked).replace("pat@", "X@") == page_text(unknown).replace("nobody@", "X@")
    link = link_from(mailbox.last_to("pat@example.org"), "/unlock-account/")
    assert owner.get(link).status_code == 302
    assert sign_in(owner).status_code == 302
    assert app.test_client().get(link).status_code == 410  # the link works once
