"""Issue 23, logs an operator can follow: one JSON line per request with its id, the id from a
trusted proxy or a fresh one, and the same id on the request's outbox rows, their delivery lines,
its audit events and its 500 page."""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from cqmr_wizard.access import Access, allow
from cqmr_wizard.audit import verify_chain
from cqmr_wizard.config import ConfigurationError
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, OutboxMessage
from cqmr_wizard.outbox.delivery import deliver

from .builders import make_user
from .helpers import page_text, sign_in, submit

FRESH_ID = re.compile(r"[0-9a-f]{32}")


def json_lines(captured: str) -> list[dict]:
    """Every line written, each of which must be one JSON object."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "cqmr_wizard.request"]


def test_each_request_writes_one_json_line_with_its_id(app, client, capsys):
    user_id = make_user(app)
    sign_in(client)
    capsys.readouterr()

    response = client.get("/tasks")
    anonymous = app.test_client().get("/reset-password/not-a-token")

    lines = json_lines(capsys.readouterr().err)
    signed_in, other = request_lines(lines)
    request_id = response.headers["X-Request-ID"]
    assert FRESH_ID.fullmatch(request_id)
    assert signed_in["request_id"] == request_id
    assert signed_in["message"] == "GET /tasks 200"
    assert (signed_in["level"], signed_in["method"], signed_in["route"], signed_in["path"]) == (
        "INFO",
        "GET",
        "/tasks",
        "/tasks",
    )
    assert signed_in["status"] == 200 and signed_in["user_id"] == user_id
    assert isinstance(signed_in["duration_ms"], float) and signed_in["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", signed_in["time"])

    assert other["request_id"] == anonymous.headers["X-Request-ID"] != request_id
    assert (other["route"], other["path"], other["user_id"]) == (
        "/reset-password/<token>",
        "/reset-password/[redacted]",
        None,
    )
    # Every line the request wrote carries its id; only its own line comes from the request logger.
    assert all(line.get("request_id") in (request_id, other["request_id"]) for line in lines)


def test_a_page_that_does_not_exist_is_logged_without_a_route(client, capsys):
    response = client.get("/no-such-page")
    [line] = request_lines(json_lines(capsys.readouterr().err))
    assert response.status_code == 404
    assert (line["route"], line["path"], line["status"]) == (None, "/no-such-page", 404)


@pytest.mark.parametrize("incoming", ["lb-7f3a.42:1", "A" * 128])
def test_a_trusted_proxys_request_id_is_kept(app_factory, capsys, incoming):
    client = app_factory(PROXY_COUNT=1).test_client()
    response = client.get("/sign-in", headers={"X-Request-ID": incoming})
    [line] = request_lines(json_lines(capsys.readouterr().err))
    assert response.headers["X-Request-ID"] == line["request_id"] == incoming


@pytest.mark.parametrize("incoming", ["A" * 129, "two words", "id;drop", "<script>", "", "é"])
def test_a_malformed_request_id_is_replaced(app_factory, capsys, incoming):
    client = app_factory(PROXY_COUNT=1).test_client()
    response = client.get("/sign-in", headers={"X-Request-ID": incoming})
    [line] = request_lines(json_lines(capsys.readouterr().err))
    assert FRESH_ID.fullmatch(response.headers["X-Request-ID"])
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_a_request_id_is_not_taken_from_an_untrusted_client(client, capsys):
    response = client.get("/sign-in", headers={"X-Request-ID": "chosen-by-the-client"})
    [line] = request_lines(json_lines(capsys.readouterr().err))
    assert FRESH_ID.fullmatch(response.headers["X-Request-ID"])
    assert line["request_id"] == response.headers["X-Request-ID"]


def test_one_request_id_ties_a_click_to_its_mail_and_its_audit_event(app_factory, mailbox, capsys):
    """A deliverer elsewhere (`flask outbox deliver`) sends the mail later; its lines still carry
    the id of the request that asked for it."""
    app = app_factory(OUTBOX_DELIVERY="worker", PROXY_COUNT=1)
    make_user(app)
    client = app.test_client()
    response = submit(
        client, "/reset-password", {"email": "pat@example.org"}, headers={"X-Request-ID": "edge-31.7"}
    )
    assert response.headers["X-Request-ID"] == "edge-31.7"
    assert mailbox.to("pat@example.org") == []
    with app.app_context():
        [message] = db.session.scalars(select(OutboxMessage)).all()
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "account.password_reset_requested")
        ).all()
        assert (message.kind, message.request_id) == ("mail", "edge-31.7")
        assert event.request_id == "edge-31.7"
        assert verify_chain().ok
    capsys.readouterr()

    with app.app_context():
        assert deliver().sent == 1
    assert mailbox.last_to("pat@example.org")["Subject"] == "Reset your CQMR onboarding password"

    delivery_lines = json_lines(capsys.readouterr().err)
    sent = [line for line in delivery_lines if line["logger"] == "cqmr_wizard.outbox.delivery"]
    smtp = [line for line in delivery_lines if line["message"].startswith("mail sent by SMTP")]
    assert [(line["outbox_message_id"], line["kind"], line["request_id"]) for line in sent] == [
        (message.id, "mail", "edge-31.7")
    ]
    assert [(line["template"], line["request_id"]) for line in smtp] == [("reset_password", "edge-31.7")]


def test_mail_delivered_right_after_the_request_carries_its_id(client, mailbox, app, capsys):
    make_user(app)
    response = submit(client, "/reset-password", {"email": "pat@example.org"})
    request_id = response.headers["X-Request-ID"]
    lines = json_lines(capsys.readouterr().err)
    [post] = [line for line in request_lines(lines) if line["method"] == "POST"]
    [smtp] = [line for line in lines if line["message"].startswith("mail sent by SMTP")]
    assert post["request_id"] == smtp["request_id"] == request_id
    assert mailbox.last_to("pat@example.org")


def test_the_500_page_shows_the_request_id_its_log_line_carries(app_factory, capsys):
    app = app_factory()

    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/explode", "explode", allow(Access.PUBLIC)(explode))
    response = app.test_client().get("/explode")
    request_id = response.headers["X-Request-ID"]
    assert response.status_code == 500
    assert f"Quote this reference when you contact the program: {request_id}" in page_text(response)
    lines = json_lines(capsys.readouterr().err)
    [error] = [line for line in lines if line["level"] == "ERROR"]
    [line] = request_lines(lines)
    assert error["request_id"] == line["request_id"] == request_id
    assert "RuntimeError: secret internals" in error["exception"]
    assert (line["status"], line["route"]) == (500, "/explode")


def test_other_error_pages_show_no_reference(client):
    assert "Quote this reference" not in page_text(client.get("/no-such-page"))


def test_secrets_never_reach_a_json_line(app, client, capsys):
    logger = logging.getLogger("cqmr_wizard.test")
    logger.warning(
        "callback %s?code=%s&state=%s then form password=%s",
        "/sso/callback",
        "CODE-1111",
        "STATE-2222",
        "hunter2-3333",
        extra={"next_url": "/reset-password/TOKEN-4444?access_token=TOKEN-5555"},
    )
    try:
        raise ValueError("link /verify-email/TOKEN-6666 failed")
    except ValueError:
        logger.exception("while checking")
    client.get("/reset-password/TOKEN-7777?token=TOKEN-8888&code=CODE-9999")

    captured = capsys.readouterr().err
    lines = json_lines(captured)
    assert [s for s in re.findall(r"(?:CODE|STATE|TOKEN|hunter2)-\d{4}", captured)] == []
    warning, failure, request = lines
    assert (
        warning["message"]
        == "callback /sso/callback?code=[redacted]&state=[redacted] then form password=[redacted]"
    )
    assert warning["next_url"] == "/reset-password/[redacted]?access_token=[redacted]"
    assert "/verify-email/[redacted] failed" in failure["exception"]
    assert request["path"] == "/reset-password/[redacted]"
    assert "?" not in request["message"]


def test_text_log_format_for_a_terminal(app_factory, capsys):
    client = app_factory(LOG_FORMAT="text").test_client()
    response = client.get("/reset-password/TOKEN-1234?code=CODE-5678")
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith(
        f"INFO cqmr_wizard.request [{response.headers['X-Request-ID']}] GET /reset-password/[redacted] 404"
    )
    assert "TOKEN-1234" not in line and "CODE-5678" not in line


def test_an_unknown_log_format_refuses_to_start(app_factory):
    with pytest.raises(ConfigurationError, match="LOG_FORMAT='xml' is not known: use one of json, text"):
        app_factory(LOG_FORMAT="xml")
