"""Security headers, branded error pages that leak nothing, the health check and the mail outbox."""

import re
from datetime import timedelta
from email import message_from_bytes

from sqlalchemy import func, select
from werkzeug.exceptions import Gone

from cqmr_wizard.access import Access, allow
from cqmr_wizard.extensions import db
from cqmr_wizard.mail import send_mail
from cqmr_wizard.models import Organization, OutboxMessage, User

from .builders import make_user
from .helpers import PASSWORD, csrf_from, free_port, link_from, page_text, sign_in, submit


def test_every_response_carries_strict_headers(client):
    response = client.get("/help")
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "style-src 'self'",
    ):
        assert directive in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    scripts = re.findall(r"<script[^>]*>", response.get_data(as_text=True))
    assert scripts and all(f'nonce="{nonce}"' in s for s in scripts)
    assert nonce != re.search(
        r"'nonce-([^']+)'", client.get("/help").headers["Content-Security-Policy"]
    ).group(1)  # a new nonce each time
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain http in tests
    assert "no-store" not in headers.get("Cache-Control", "")  # public pages may be cached


def test_hsts_when_configured(app_factory):
    response = app_factory(HSTS=True).test_client().get("/help")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_signed_in_pages_are_never_cached(app, client):
    make_user(app)
    sign_in(client)
    for path in ("/tasks", "/help"):
        assert client.get(path).headers["Cache-Control"] == "no-store"


def test_not_found_and_method_not_allowed_pages(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "<title>Page not found" in missing.get_data(as_text=True)
    wrong = client.put("/help")
    assert wrong.status_code == 405
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET"}
    assert "That action is not allowed here" in page_text(wrong)


def test_an_unexpected_error_gives_a_branded_page_and_saves_nothing(app_factory, caplog):
    app = app_factory()

    def explode():
        db.session.add(Organization(eligibility="covered_entity"))
        db.session.flush()
        raise RuntimeError("secret internals: password=hunter2")

    app.add_url_rule("/explode", "explode", allow(Access.PUBLIC)(explode))
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    text = page_text(response)
    assert "Sorry, there is a problem with the service" in text
    assert "hunter2" not in response.get_data(as_text=True)
    assert "unhandled error" in caplog.text  # the detail goes to the log instead
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Organization)) == 0


def test_aborts_with_an_explanation(app_factory):
    app = app_factory()

    def gone():
        error = Gone()
        error.cqmr_detail = "This invitation was withdrawn."
        raise error

    app.add_url_rule("/gone", "gone", allow(Access.PUBLIC)(gone))
    response = app.test_client().get("/gone")
    assert response.status_code == 410
    assert "This invitation was withdrawn." in page_text(response)


def test_a_too_large_request_is_refused(app, client):
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"csrf_token": token, "email": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413
    assert "The file or form is too large" in page_text(response)


def test_mail_goes_to_the_outbox_when_no_smtp_server_is_configured(app_factory, tmp_path, mailbox):
    app = app_factory(MAIL_SERVER=None, MAIL_OUTBOX=str(tmp_path / "outbox"))
    user_id = make_user(app)
    with app.test_request_context():
        user = db.session.get(User, user_id)
        send_mail(user.email, "Hello", "password_changed", user=user)
        db.session.commit()
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    message = message_from_bytes(eml.read_bytes())
    assert message["To"] == "pat@example.org" and message["Subject"] == "Hello"
    assert "Hello Pat Example" in message.get_payload(decode=True).decode()
    assert mailbox.messages == []


def test_a_mail_outage_keeps_the_change_and_its_mail_for_later(app_factory, mailbox):
    down = app_factory(MAIL_PORT=free_port(), OUTBOX_RETRY_BASE=timedelta(0))  # nothing listens there
    client = down.test_client()
    response = submit(
        client, "/sign-up", {"full_name": "Ada Lovelace", "email": "ada@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    with down.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1
        [queued] = db.session.scalars(select(OutboxMessage)).all()
        assert queued.status == "pending" and "Connection refused" in queued.last_error
    assert mailbox.to("ada@example.org") == []

    up = app_factory()
    result = up.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
