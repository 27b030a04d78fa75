"""Server-side sessions: a random id in the cookie, the data in the database or Redis."""

import hashlib
import shutil
import subprocess
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import WebSession
from cqmr_wizard.models.base import utcnow

from .builders import make_user
from .helpers import free_port, page_text, sign_in, submit

COOKIE = "cqmr_session"


def stored_sessions(app) -> list[WebSession]:
    with app.app_context():
        return db.session.scalars(select(WebSession)).all()


def age_sessions(app, **ago: timedelta) -> None:
    """Move every stored session's timestamps into the past."""
    with app.app_context():
        db.session.execute(
            update(WebSession).values(**{column: utcnow() - delta for column, delta in ago.items()})
        )
        db.session.commit()


def test_visitors_who_fill_in_nothing_get_no_session(app, client):
    response = client.get("/help")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert stored_sessions(app) == []


def test_cookie_holds_only_a_random_id_and_the_server_only_its_hash(app, client):
    make_user(app)
    sign_in(client)
    response = client.get("/tasks")
    cookie = client.get_cookie(COOKIE)
    assert len(cookie.value) >= 40 and "." not in cookie.value  # not a signed data cookie
    assert cookie.http_only and cookie.same_site == "Lax"
    [row] = [r for r in stored_sessions(app) if r.user_id is not None]
    assert row.id_hash == hashlib.sha256(cookie.value.encode()).hexdigest()
    assert cookie.value not in row.data
    assert response.headers["Cache-Control"] == "no-store"


def test_cookie_is_secure_when_configured(app_factory):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.get("/sign-in", base_url="https://localhost")
    assert "Secure" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_signing_in_gives_a_new_session_id(app, client):
    make_user(app)
    client.get("/sign-in")
    before = client.get_cookie(COOKIE).value
    sign_in(client)
    after = client.get_cookie(COOKIE).value
    assert before != after
    hashes = {r.id_hash for r in stored_sessions(app)}
    assert hashlib.sha256(before.encode()).hexdigest() not in hashes
    # A session id planted before sign-in (fixation) is worthless afterwards.
    planted = app.test_client()
    planted.set_cookie(COOKIE, before)
    assert planted.get("/tasks").status_code == 302


def test_a_forged_or_oversized_cookie_is_ignored(app, client):
    client.set_cookie(COOKIE, "made-up")
    assert client.get("/tasks").location.startswith("/sign-in")
    client.set_cookie(COOKIE, "x" * 4000)
    assert client.get("/sign-in").status_code == 200


@pytest.mark.parametrize(
    "ago",
    [
        {"last_seen_at": timedelta(minutes=31)},  # idle for longer than 30 minutes
        {"created_at": timedelta(hours=12, minutes=1)},  # older than 12 hours, even if busy
    ],
)
def test_sessions_expire(app, client, ago):
    make_user(app)
    sign_in(client)
    assert client.get("/tasks").status_code == 200
    age_sessions(app, **ago)
    response = client.get("/tasks")
    assert response.status_code == 302 and response.location == "/sign-in?next=/tasks"
    assert "Your session ended because it was left unused" in page_text(client.get(response.location))
    assert all(r.user_id is None for r in stored_sessions(app))


def test_activity_keeps_a_session_alive(app, client):
    make_user(app)
    sign_in(client)
    age_sessions(app, last_seen_at=timedelta(minutes=29))
    assert client.get("/help").status_code == 200  # any request counts as activity
    [row] = stored_sessions(app)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)
    age_sessions(app, last_seen_at=timedelta(minutes=29))
    assert client.get("/tasks").status_code == 200


def test_purge_deletes_only_expired_sessions(app):
    for n in range(3):
        make_user(app, f"user{n}@example.org")
        sign_in(app.test_client(), f"user{n}@example.org")
    with app.app_context():
        rows = db.session.scalars(select(WebSession).order_by(WebSession.id_hash)).all()
        # Past the idle and the absolute timeout, each by more than PURGE_AFTER (a day).
        rows[0].last_seen_at = utcnow() - timedelta(days=1, hours=1)
        rows[1].created_at = utcnow() - timedelta(days=1, hours=13)
        db.session.commit()
        keep = rows[2].id_hash
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "  expired sessions: 2\n" in result.output
    assert [r.id_hash for r in stored_sessions(app)] == [keep]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebSession)) == 1


@pytest.fixture(scope="module")
def redis_url():
    """A real redis-server on a free loopback port, with no persistence."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: install the Debian package redis-server")
    port = free_port()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def redis_app(app_factory, redis_url, request):
    prefix = f"t{abs(hash(request.node.nodeid))}:"
    return app_factory(REDIS_URL=redis_url, REDIS_PREFIX=prefix), redis.Redis.from_url(redis_url), prefix


def test_redis_store_keeps_sessions_out_of_the_database(redis_app):
    app, server, prefix = redis_app
    make_user(app)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    assert laptop.get("/tasks").status_code == 200
    assert stored_sessions(app) == []
    cookie = laptop.get_cookie(COOKIE).value
    key = f"{prefix}session:{hashlib.sha256(cookie.encode()).hexdigest()}"
    assert server.exists(key)
    assert 0 < server.ttl(key) <= 30 * 60  # the idle timeout

    submit(phone, "/sign-out-everywhere", page="/account")
    assert not server.exists(key)
    assert laptop.get("/tasks").status_code == 302
    assert phone.get("/tasks").status_code == 302
    assert "You have signed out on every device (2 sessions ended)" in page_text(phone.get("/sign-in"))


def test_redis_store_ends_sessions_and_rotates_ids(redis_app):
    app, server, prefix = redis_app
    make_user(app)
    client = app.test_client()
    client.get("/sign-in")
    before = client.get_cookie(COOKIE).value
    sign_in(client)
    assert client.get_cookie(COOKIE).value != before
    assert not server.exists(f"{prefix}session:{hashlib.sha256(before.encode()).hexdigest()}")
    submit(client, "/sign-out", page="/tasks")
    assert client.get("/tasks").status_code == 302
    assert "You have signed out." in page_text(client.get("/sign-in"))
