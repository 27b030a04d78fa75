"""Signing in with a password, lock-out after repeated failures, deactivation and signing out."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, User
from cqmr_wizard.models.base import utcnow

from .builders import make_user
from .helpers import PASSWORD, forge, fresh_code, page_text, sign_in, stored_secret, submit


def events(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()


def test_sign_in_takes_the_user_to_their_tasks(app, client):
    user_id = make_user(app)
    response = sign_in(client, "  PAT@example.org ")
    assert response.status_code == 302 and response.location == "/tasks"
    tasks = client.get("/tasks")
    assert tasks.status_code == 200
    assert "Signed in as pat@example.org" in page_text(tasks)
    [event] = events(app, "auth.signed_in")
    assert event.actor_id == user_id and event.details == '{"method":"password"}'
    assert event.ip_address == "127.0.0.1"
    with app.app_context():
        assert db.session.get(User, user_id).last_sign_in_at is not None
    # Signed-in visitors are sent on from the pages for signed-out ones.
    assert client.get("/sign-in").location == "/tasks"
    assert client.get("/sign-up").location == "/tasks"
    assert client.get("/").location == "/tasks"


@pytest.mark.parametrize(
    "email, password",
    [
        ("pat@example.org", "not the right password at all"),
        ("nobody@example.org", PASSWORD),
    ],
)
def test_wrong_details_get_one_message_that_reveals_nothing(app, client, email, password):
    make_user(app)
    response = sign_in(client, email, password)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: Sign in" in html
    assert '<a class="usa-link" href="#password">The email address or password is not right</a>' in html
    assert 'id="password-error"' in html
    assert 'value="' + email + '"' in html  # the email is kept, the password is not
    assert password not in html
    assert client.get("/tasks").status_code == 302
    assert len(events(app, "auth.sign_in_failed")) == 1


def test_empty_form(app, client):
    response = sign_in(client, "", "")
    assert response.status_code == 400
    text = page_text(response)
    assert "Enter an email address in the correct format" in text or "Enter your email address" in text
    assert "Enter your password" in text


def from_address(app, address: str):
    """A client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


LOCKING = {"SIGN_IN_LOCKOUT_THRESHOLD": 4, "SIGN_IN_THROTTLE_FREE_ATTEMPTS": 100}


def test_repeated_failures_from_anywhere_lock_the_account_for_a_while(app_factory, mailbox):
    app = app_factory(**LOCKING)
    user_id = make_user(app)
    threshold = app.config["SIGN_IN_LOCKOUT_THRESHOLD"]
    for i in range(threshold):
        wrong = sign_in(from_address(app, f"192.0.2.{i}"), password="wrong password, try again")
        assert wrong.status_code == 400
    client = from_address(app, "198.51.100.7")
    locked = sign_in(client)  # even the right password is refused now, with the same answer
    assert locked.status_code == 400
    assert "The email address or password is not right" in page_text(locked)
    assert client.get("/tasks").status_code == 302
    failures = events(app, "auth.sign_in_failed")
    assert '"locked":true' in failures[threshold - 1].details
    assert '"reason":"locked"' in failures[-1].details
    assert (
        "Sign-in to your CQMR onboarding account is paused" in mailbox.last_to("pat@example.org")["Subject"]
    )

    with app.app_context():
        db.session.execute(update(User).values(sign_in_locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert sign_in(client).status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.failed_sign_in_count == 0 and user.sign_in_locked_until is None


def test_failures_are_counted_across_clients_and_reset_by_success(app_factory):
    app = app_factory(**LOCKING)
    make_user(app)
    threshold = app.config["SIGN_IN_LOCKOUT_THRESHOLD"]
    for _ in range(threshold - 1):
        sign_in(app.test_client(), password="wrong password, try again")
    assert sign_in(app.test_client()).status_code == 302
    # The count started again from zero.
    for _ in range(threshold - 1):
        sign_in(app.test_client(), password="wrong password, try again")
    assert sign_in(app.test_client()).status_code == 302


def test_deactivated_account_is_refused_and_its_sessions_stop_working(app, client):
    user_id = make_user(app)
    assert sign_in(client).status_code == 302
    with app.app_context():
        db.session.execute(update(User).values(deactivated_at=utcnow()))
        db.session.commit()
    assert client.get("/tasks").status_code == 302
    response = sign_in(app.test_client())
    assert response.status_code == 400
    assert "This account has been deactivated" in page_text(response)
    assert events(app, "auth.sign_in_failed")[-1].subject_user_id == user_id


def sign_in_from(client, address: str):
    """Sign in on `address` (a sign-in page with a `next`), following the pages to the second
    factor as a browser would; return the response to the code."""
    page = submit(client, address, {"email": "pat@example.org", "password": PASSWORD}, follow_redirects=True)
    assert page.request.path == "/two-step-verification/", page.request.path
    app = client.application
    code = fresh_code(app, "pat@example.org", stored_secret(app, "pat@example.org"))
    return submit(client, "/two-step-verification/", {"code": code})


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/onboarding/eligibility", "/onboarding/eligibility"),
        ("/onboarding/eligibility?x=1", "/onboarding/eligibility?x=1"),
        ("https://evil.example/phish", "/tasks"),
        ("//evil.example/phish", "/tasks"),
        ("/\\evil.example", "/tasks"),
    ],
)
def test_sign_in_returns_only_to_pages_on_this_site(app, client, target, expected):
    make_user(app)
    response = sign_in_from(client, f"/sign-in?next={quote(target)}")
    assert response.status_code == 302
    assert response.location == expected


def test_a_page_that_needs_sign_in_comes_back_after_it(app, client):
    make_user(app)
    response = client.get("/onboarding/eligibility")
    assert response.status_code == 302
    assert response.location == "/sign-in?next=/onboarding/eligibility"
    assert sign_in_from(client, response.location).location == "/onboarding/eligibility"


def test_sign_in_after_a_refused_post_does_not_return_to_a_post_only_address(app, client):
    make_user(app)
    response = forge(client, "/sign-out-everywhere", page="/sign-in")
    assert response.status_code == 302
    assert response.location == "/sign-in"


def test_sign_out_ends_the_session_on_the_server(app, client):
    make_user(app)
    sign_in(client)
    cookie = client.get_cookie("cqmr_session").value
    response = submit(client, "/sign-out", page="/tasks")
    assert response.status_code == 302 and response.location == "/sign-in"
    assert "You have signed out." in page_text(client.get("/sign-in"))
    assert client.get("/tasks").status_code == 302
    # Replaying the old cookie gets nowhere: the server forgot that session.
    thief = app.test_client()
    thief.set_cookie("cqmr_session", cookie)
    assert thief.get("/tasks").status_code == 302
    assert len(events(app, "auth.signed_out")) == 1


def test_sign_out_needs_a_post_with_a_csrf_token(app, client):
    make_user(app)
    sign_in(client)
    assert client.get("/sign-out").status_code == 405
    assert client.post("/sign-out").status_code == 400
    assert client.get("/tasks").status_code == 200


def test_sign_out_everywhere_ends_every_session_of_the_user(app, client):
    make_user(app)
    make_user(app, "other@example.org")
    laptop, phone, someone_else = client, app.test_client(), app.test_client()
    for browser in (laptop, phone):
        sign_in(browser)
    sign_in(someone_else, "other@example.org")
    response = submit(laptop, "/sign-out-everywhere", page="/account")
    assert response.location == "/sign-in"
    assert "You have signed out on every device (2 sessions ended)" in page_text(laptop.get("/sign-in"))
    assert laptop.get("/tasks").status_code == 302
    assert phone.get("/tasks").status_code == 302
    assert someone_else.get("/tasks").status_code == 200
    [event] = events(app, "auth.signed_out_everywhere")
    assert event.details == '{"sessions_ended":2}'
