"""Issue 23: /metrics behind a bearer token, and what the counters count (in this process's
registry: the tests run without gunicorn; tests/test_ops_gunicorn.py scrapes two workers)."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from cqmr_wizard import audit
from cqmr_wizard.audit.events import AuditEventType
from cqmr_wizard.extensions import db

from .builders import make_user
from .helpers import free_port, sign_in, submit
from .test_gate import INITIATE, ISSUER, build

TOKEN = "a-long-random-scrape-token"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(app) -> dict[tuple[str, tuple], float]:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_without_a_token_configured_there_is_no_metrics_page(app):
    assert app.test_client().get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_a_missing_or_wrong_token_is_refused_with_a_bearer_challenge(app_factory):
    client = app_factory(METRICS_TOKEN=TOKEN).test_client()
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
    ):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "cqmr_" not in response.get_data(as_text=True)


def test_the_right_token_gets_the_metrics_without_a_cookie(app_factory):
    client = app_factory(METRICS_TOKEN=TOKEN).test_client()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert "Set-Cookie" not in response.headers
    assert "cqmr_http_requests_total" in response.get_data(as_text=True)


def test_requests_are_counted_by_url_rule_never_by_raw_path(app_factory):
    app = app_factory(METRICS_TOKEN=TOKEN)
    client = app.test_client()
    before = value("cqmr_http_requests_total", route="/invitations/<token>", method="GET", status="404")
    client.get("/invitations/a-secret-invitation-token")
    client.get("/no-such-page-anywhere")
    samples = scrape(app)
    after = samples[
        (
            "cqmr_http_requests_total",
            (("method", "GET"), ("route", "/invitations/<token>"), ("status", "404")),
        )
    ]
    assert after == before + 1
    assert (
        "cqmr_http_requests_total",
        (("method", "GET"), ("route", "(unmatched)"), ("status", "404")),
    ) in samples
    names = " ".join(str(key) for key in samples)
    assert "a-secret-invitation-token" not in names and "no-such-page-anywhere" not in names
    timed = (
        "cqmr_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "/invitations/<token>")),
    )
    assert samples[timed] >= 1


def test_sign_in_failures_and_throttles_are_counted(app_factory):
    app = app_factory(SIGN_IN_THROTTLE_FREE_ATTEMPTS=2, RATE_LIMIT_SIGN_IN="100 per minute")
    make_user(app)
    failures, throttled = value("cqmr_sign_in_failures_total"), value("cqmr_sign_in_throttled_total")
    client = app.test_client()
    assert sign_in(client, password="not the password at all").status_code == 400
    assert value("cqmr_sign_in_failures_total") == failures + 1
    assert value("cqmr_sign_in_throttled_total") == throttled
    assert sign_in(client, password="not the password at all").status_code == 400
    assert sign_in(client, password="not the password at all").status_code == 429
    assert value("cqmr_sign_in_failures_total") == failures + 2
    assert value("cqmr_sign_in_throttled_total") == throttled + 1


def test_an_event_is_counted_only_once_its_transaction_commits(app):
    before = value("cqmr_sign_in_failures_total")
    with app.test_request_context():
        audit.record(AuditEventType.AUTH_SIGN_IN_FAILED, details={"reason": "test"})
        db.session.rollback()
        assert value("cqmr_sign_in_failures_total") == before
        audit.record(AuditEventType.AUTH_SIGN_IN_FAILED, details={"reason": "test"})
        db.session.commit()
        assert value("cqmr_sign_in_failures_total") == before + 1
        db.session.commit()  # a later commit without events counts nothing again
    assert value("cqmr_sign_in_failures_total") == before + 1


def test_gate_opens_and_refusals_are_counted(app_factory):
    app = app_factory(
        OIDC_ISSUER=ISSUER,
        OIDC_CLIENT_ID="cqmr-wizard",
        OIDC_CLIENT_SECRET="s",
        CQMR_INITIATE_LOGIN_URI=INITIATE,
    )
    opens, refusals = (
        value("cqmr_gate_opens_total"),
        value("cqmr_gate_refusals_total", reason="tasks_missing"),
    )
    client, _, _ = build(app, skip="user_agreements")
    assert client.get("/go-to-cqmr").status_code == 403
    assert value("cqmr_gate_refusals_total", reason="tasks_missing") == refusals + 1
    ready, _, _ = build(app)
    assert submit(ready, "/go-to-cqmr", {}).status_code == 303
    assert value("cqmr_gate_opens_total") == opens + 1
    assert value("cqmr_gate_refusals_total", reason="tasks_missing") == refusals + 1


def test_outbox_deliveries_are_counted_by_kind_and_result(app_factory, mailbox):
    from cqmr_wizard.mail import send_mail
    from cqmr_wizard.models import User

    app = app_factory()
    user_id = make_user(app)
    sent = value("cqmr_outbox_deliveries_total", kind="mail", result="sent")
    retry = value("cqmr_outbox_deliveries_total", kind="mail", result="retry")
    with app.test_request_context():
        send_mail("pat@example.org", "Hello", "password_changed", user=db.session.get(User, user_id))
        db.session.commit()
    assert value("cqmr_outbox_deliveries_total", kind="mail", result="sent") == sent + 1
    down = app_factory(MAIL_PORT=free_port())  # nobody listens there
    with down.test_request_context():
        send_mail("pat@example.org", "Hello", "password_changed", user=db.session.get(User, user_id))
        db.session.commit()
    assert value("cqmr_outbox_deliveries_total", kind="mail", result="retry") == retry + 1
