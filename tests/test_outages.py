"""Outages of Redis and of PostgreSQL, on servers this suite owns (tests/fault_services.py): every
page answers 503 with the outage page (or keeps working), never 500, within the bounded
timeouts; once the server is back the same app answers exactly as before."""

from __future__ import annotations

import secrets
import time

import pytest
from sqlalchemy import func, select

from cqmr_wizard import create_app
from cqmr_wizard.extensions import db
from cqmr_wizard.models import OutboxMessage, User

from .builders import add_member, make_organization, make_user
from .conftest import make_config
from .fault_services import postgres_cluster, redis_server  # noqa: F401  (fixtures)
from .helpers import PASSWORD, csrf_from, page_text, sign_in, submit

# Small timeouts, so that a test of them is quick: each attempt gives up after these seconds.
TIMEOUTS = {"REDIS_TIMEOUT": 1.0, "DATABASE_CONNECT_TIMEOUT": 2, "DATABASE_POOL_TIMEOUT": 2.0}
# No request may take longer than an attempt and its one retry, plus a margin for a busy machine.
SLOWEST = 2 * TIMEOUTS["DATABASE_CONNECT_TIMEOUT"] + 3.0

ALLOWED = {200, 302, 303, 503}
# Answers besides ALLOWED a page may give while a server is down, and why.
JUSTIFIED = {
    # Made-up links checked against the database, which is up while only Redis is down: the
    # page says the link cannot be used, as it would at any time.
    "auth.verify_email": "a made-up email confirmation link",
    "auth.reset_password": "a made-up password reset link",
    "auth.unlock_account": "a made-up unlock link",
    "team.accept": "a made-up invitation link",
    # No such file: the static files need neither server.
    "static": "a made-up file name",
}

SAM = "sam@example.org"


def fill(rule, ids: dict[str, int]) -> str:
    """The rule's address with every parameter filled: the ids of rows built before the outage,
    a real agreement or details page, made-up tokens."""
    values: dict[str, object] = {}
    for name in rule.arguments:
        if name in ids:
            values[name] = ids[name]
        elif name == "slug":
            if rule.endpoint.startswith("onboarding."):
                values[name] = "legal-name"
            elif rule.endpoint.startswith("agreements.user"):
                values[name] = "authorized-user-agreement"
            else:
                values[name] = "participation-agreement"
        elif name == "kind":
            values[name] = "certificate" if "signature_id" in rule.arguments else "opa"
        elif name == "token":
            values[name] = "made-up-token"
        elif name == "filename":
            values[name] = "css/app.css"
        else:
            values[name] = 1  # an id of a row that was never made: its 404 before and after
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<{name}>", str(value))
        for converter in ("int", "path"):
            path = path.replace(f"<{converter}:{name}>", str(value))
        if f":{name}>" in path:  # <any(...):kind>
            start = path.index("<any(")
            path = path[:start] + str(value) + path[path.index(f":{name}>") + len(name) + 2 :]
    return path


def get_routes(app, ids: dict[str, int]) -> list[tuple[str, str]]:
    return sorted(
        (rule.endpoint, fill(rule, ids))
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in {"ops.metrics"}
    )


def world(app) -> tuple[dict, dict[str, int]]:
    """Pat, an administrator with both factors; Sam, a member signed in with the password only;
    and a visitor. Returns their clients and the ids the addresses are filled with."""
    pat = make_user(app, "pat@example.org")
    org = make_organization(app, pat, roles=("admin", "signer"))
    sam = add_member(app, org, roles=("viewer",), email=SAM)
    clients = {"visitor": app.test_client(), "password only": app.test_client(), "signed in": app.test_client()}
    assert sign_in(clients["signed in"], "pat@example.org").status_code == 302
    assert sign_in(clients["password only"], SAM, second_factor=False).status_code == 302
    ids = {"org_id": org, "user_id": sam.user_id, "member_id": sam.membership_id}
    return clients, ids


def sweep(
    app, clients: dict, ids: dict[str, int], before: dict | None = None, pages: list | None = None
) -> dict[tuple[str, str], int]:
    """Every GET page as each person: status by (person, address); no request is slow. Given the
    answers `before` an outage, each new 503 must be the outage page (noted in `pages`)."""
    answers = {}
    for who, client in clients.items():
        for _, path in get_routes(app, ids):
            started = time.monotonic()
            response = client.get(path)
            took = time.monotonic() - started
            assert took < SLOWEST, f"{who} GET {path} took {took:.1f} s"
            answers[(who, path)] = response.status_code
            if response.status_code == 503 and b"briefly unavailable" in response.data:
                assert_outage_page(response, where=f"{who} GET {path}")
                if pages is not None:
                    pages.append((who, path))
            elif path == "/readyz" and response.status_code == 503:
                # Readiness answers for itself, in JSON, naming the part that is not ok.
                assert response.json["status"] == "unavailable", (who, response.json)
            elif before is not None and response.status_code == 503:
                # /sso/callback (no single sign-on configured here) says 503 anyway.
                assert before[(who, path)] == 503, f"{who} GET {path}: a 503 without the outage page"
    return answers


def assert_outage_page(response, posted: bool = False, where: str = "") -> None:
    assert response.headers.get("Retry-After") == "30", (where, page_text(response)[:300])
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and "<main " in html
    assert "<title>Sorry, the service is briefly unavailable" in html
    assert "<h1>Sorry, the service is briefly unavailable</h1>" in html
    text = page_text(response)
    assert "your progress has not been lost" in text
    assert "Try again in about 30 seconds" in text
    assert ("What you just sent was not saved" in text) is posted


def assert_outage_answers(app, during: dict, before: dict, ids: dict[str, int]) -> None:
    endpoint_of = {path: endpoint for endpoint, path in get_routes(app, ids)}
    odd = {
        key: status
        for key, status in during.items()
        if status not in ALLOWED and not (endpoint_of[key[1]] in JUSTIFIED and status == before[key])
    }
    assert not odd, odd
    assert 500 not in during.values()


def test_redis_down_pages_answer_503_or_keep_working(app_factory, redis_server, caplog):  # noqa: F811
    app = app_factory(REDIS_URL=redis_server.url, **TIMEOUTS)
    clients, ids = world(app)
    before = sweep(app, clients, ids)
    assert before[("signed in", "/tasks")] == 200

    visitor = app.test_client()
    token = csrf_from(visitor.get("/sign-in").get_data(as_text=True))
    redis_server.stop()
    try:
        caplog.clear()
        pages: list = []
        during = sweep(app, clients, ids, before, pages)
        assert_outage_answers(app, during, before, ids)
        for who in ("password only", "signed in"):
            assert during[(who, "/tasks")] == 503
            # The help and start pages keep working, as a signed-out visitor sees them.
            assert during[(who, "/help")] == 200
            assert during[(who, "/")] == 200
        outage_lines = [r for r in caplog.records if r.getMessage().startswith("outage: ")]
        assert len(outage_lines) == len(pages) > 0  # one line per outage page
        assert all(r.levelname == "WARNING" for r in outage_lines)

        # Sign-in fails closed: neither the session nor the per-source counter can be kept.
        credentials = {"csrf_token": token, "email": "pat@example.org", "password": PASSWORD}
        response = visitor.post("/sign-in", data=credentials)
        assert response.status_code == 503
        assert_outage_page(response, posted=True)
    finally:
        redis_server.start()

    assert sweep(app, clients, ids) == before


def test_sign_in_fails_closed_while_the_rate_limit_store_is_down(app_factory, redis_server):  # noqa: F811
    # Sessions in the database, which is up; only the per-source counters are in Redis.
    app = app_factory(RATELIMIT_STORAGE_URI=redis_server.url, **TIMEOUTS)
    make_user(app, "pat@example.org")
    client = app.test_client()
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    redis_server.stop()
    try:
        credentials = {"csrf_token": token, "email": "pat@example.org", "password": PASSWORD}
        response = client.post("/sign-in", data=credentials)
        assert response.status_code == 503  # never signed in unthrottled
        assert_outage_page(response, posted=True)
        assert client.get("/sign-in").status_code == 200  # a page view counts nothing
    finally:
        redis_server.start()
    assert sign_in(client, "pat@example.org").status_code == 302


def test_a_redis_that_stops_answering_is_given_up_on_within_the_timeout(app_factory, redis_server):  # noqa: F811
    app = app_factory(REDIS_URL=redis_server.url, **TIMEOUTS)
    clients, _ = world(app)
    redis_server.pause()
    try:
        started = time.monotonic()
        response = clients["signed in"].get("/tasks")
        took = time.monotonic() - started
    finally:
        redis_server.resume()
    assert response.status_code == 503
    assert took < 2 * TIMEOUTS["REDIS_TIMEOUT"] + 2.0
    assert clients["signed in"].get("/tasks").status_code == 200


@pytest.fixture
def own_database_app(postgres_cluster, tmp_path, smtp_server, monkeypatch):  # noqa: F811
    """Build apps on a fresh database of this suite's own PostgreSQL cluster."""
    monkeypatch.setenv("CQMR_INSTANCE_PATH", str(tmp_path / "instance"))
    url = postgres_cluster.create_database(f"outage_{secrets.token_hex(4)}")
    controller, _ = smtp_server
    built = []

    def build(**overrides):
        config = make_config(tmp_path, None, controller.port, **TIMEOUTS, **overrides)
        app = create_app({**config, "DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": {}})
        if not built:
            with app.app_context():
                db.create_all()
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


def test_database_down_pages_answer_503_never_500(own_database_app, postgres_cluster):  # noqa: F811
    app = own_database_app()
    clients, ids = world(app)
    before = sweep(app, clients, ids)
    assert before[("signed in", "/tasks")] == 200

    postgres_cluster.stop()
    try:
        during = sweep(app, clients, ids, before)
        assert_outage_answers(app, during, before, ids)
        for who in ("password only", "signed in"):
            assert during[(who, "/tasks")] == 503
            assert during[(who, "/help")] == 200  # needs neither the database nor a session
        # A newcomer without a session is sent to sign in, which needs no database to show.
        newcomer = app.test_client()
        assert newcomer.get("/tasks").status_code == 302
        assert newcomer.get("/help").status_code == 200
    finally:
        postgres_cluster.start()

    assert sweep(app, clients, ids) == before


def test_a_sign_up_sent_while_the_database_is_down_is_not_half_saved(
    own_database_app,
    postgres_cluster,  # noqa: F811
    redis_server,  # noqa: F811
    mailbox,
):
    # Sessions and counters in Redis: the form reaches the view, and the database fails there.
    app = own_database_app(REDIS_URL=redis_server.url)
    client = app.test_client()
    form = {"full_name": "Ada Lovelace", "email": "ada@example.org", "password": PASSWORD}
    postgres_cluster.stop()
    try:
        response = submit(client, "/sign-up", form)
        assert response.status_code == 503
        assert_outage_page(response, posted=True)
    finally:
        postgres_cluster.start()

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert mailbox.messages == []
    # Sent again once the database is back, it goes through.
    assert submit(client, "/sign-up", form).status_code == 302


def test_only_lost_servers_count_as_outages():
    import redis.exceptions
    from limits.errors import StorageError
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    from cqmr_wizard.outages import outage_in

    lost = OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert outage_in(lost) is lost
    refused = redis.exceptions.ConnectionError("Error 111")
    assert outage_in(StorageError(refused)) is refused  # as a rate-limit store reports it
    try:
        try:
            raise lost
        except OperationalError as error:
            raise RuntimeError("while saving") from error
    except RuntimeError as wrapped:
        assert outage_in(wrapped) is lost
    for mistake in (
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        ProgrammingError("SELECT nope", {}, Exception("syntax error")),
        KeyError("x"),
    ):
        assert outage_in(mistake) is None  # stays a 500
