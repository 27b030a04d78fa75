"""Forgotten passwords: a single-use, expiring link by mail; a reset ends every session."""

from datetime import timedelta

from sqlalchemy import select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, EmailToken, User
from cqmr_wizard.models.base import utcnow

from .builders import make_user
from .helpers import PASSWORD, csrf_from, forge, link_from, page_text, sign_in, submit

NEW_PASSWORD = "purple elephant juggling tangerines"


def ask_for_link(client, mailbox, email="pat@example.org") -> str:
    response = submit(client, "/reset-password", {"email": email})
    assert response.status_code == 200
    assert f"If an account exists for {email}" in page_text(response)
    return link_from(mailbox.last_to(email), "/reset-password/")


def test_reset_link_changes_the_password(app, client, mailbox):
    user_id = make_user(app)
    link = ask_for_link(client, mailbox)
    message = mailbox.last_to("pat@example.org")
    assert message["Subject"] == "Reset your CQMR onboarding password"
    assert "expires after 60 minutes" in message.get_payload(decode=True).decode()

    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in page_text(page)
    response = submit(client, link, {"password": NEW_PASSWORD})
    assert response.status_code == 302 and response.location == "/sign-in"
    assert "Your password has been changed" in page_text(client.get("/sign-in"))
    assert mailbox.last_to("pat@example.org")["Subject"] == "Your CQMR onboarding password was changed"

    assert sign_in(client, password=PASSWORD).status_code == 400
    assert sign_in(client, password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        types = db.session.scalars(
            select(AuditEvent.event_type).where(AuditEvent.subject_user_id == user_id).order_by(AuditEvent.id)
        ).all()
    assert types[:2] == ["account.password_reset_requested", "account.password_reset"]


def test_the_link_works_once_and_older_links_die_with_it(app, client, mailbox):
    make_user(app)
    first = ask_for_link(client, mailbox)
    second = ask_for_link(client, mailbox)
    assert first != second
    assert submit(client, second, {"password": NEW_PASSWORD}).status_code == 302
    for link in (first, second):
        again = client.get(link)
        assert again.status_code == 410
        assert "This link has already been used" in page_text(again)
        assert "Ask for a new password reset link" in page_text(again)


def test_a_weak_password_keeps_the_link_usable(app, client, mailbox):
    make_user(app)
    link = ask_for_link(client, mailbox)
    response = submit(client, link, {"password": "password1234"})
    assert response.status_code == 400
    assert "<title>Error: Choose a new password" in response.get_data(as_text=True)
    assert "Choose a password that is harder to guess" in page_text(response)
    # Nor may the new password be built from the person's own name or address.
    response = submit(client, link, {"password": "patexample.org1"})
    assert response.status_code == 400
    empty = submit(client, link, {"password": ""})
    assert empty.status_code == 400 and "Enter a new password" in page_text(empty)
    assert sign_in(app.test_client()).status_code == 302  # old password unchanged
    assert submit(client, link, {"password": NEW_PASSWORD}).status_code == 302


def test_expired_and_unknown_links(app, client, mailbox):
    make_user(app)
    link = ask_for_link(client, mailbox)
    with app.app_context():
        db.session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    expired = client.get(link)
    assert expired.status_code == 410 and "This link has expired" in page_text(expired)
    csrf_page = client.get("/reset-password")
    assert csrf_page.status_code == 200
    posted = forge(client, link, {"password": NEW_PASSWORD}, page="/reset-password")
    assert posted.status_code == 410
    assert sign_in(client).status_code == 302  # the password did not change

    unknown = app.test_client().get("/reset-password/nonsense")
    assert unknown.status_code == 404 and "This link is not valid" in page_text(unknown)


def test_resetting_ends_every_session(app, client, mailbox):
    make_user(app)
    signed_in_elsewhere = app.test_client()
    assert sign_in(signed_in_elsewhere).status_code == 302
    link = ask_for_link(client, mailbox)
    submit(client, link, {"password": NEW_PASSWORD})
    assert signed_in_elsewhere.get("/tasks").status_code == 302


def test_a_reset_link_also_confirms_the_email_address(app, client, mailbox):
    user_id = make_user(app, verified=False)
    link = ask_for_link(client, mailbox)
    submit(client, link, {"password": NEW_PASSWORD})
    with app.app_context():
        assert db.session.get(User, user_id).email_verified_at is not None
    assert sign_in(client, password=NEW_PASSWORD).status_code == 302


def test_asking_reveals_nothing_about_accounts(app, client, mailbox):
    make_user(app)
    response = submit(client, "/reset-password", {"email": "nobody@example.org"})
    assert response.status_code == 200
    assert "If an account exists for nobody@example.org" in page_text(response)
    assert mailbox.messages == []
    with app.app_context():
        db.session.execute(update(User).values(deactivated_at=utcnow()))
        db.session.commit()
    submit(client, "/reset-password", {"email": "pat@example.org"})
    assert mailbox.messages == []
    bad = submit(client, "/reset-password", {"email": ""})
    assert bad.status_code == 400 and "Enter your email address" in page_text(bad)


def test_a_reset_link_unlocks_a_locked_account(app_factory, mailbox):
    app = app_factory(SIGN_IN_LOCKOUT_THRESHOLD=3, SIGN_IN_THROTTLE_FREE_ATTEMPTS=100)
    client = app.test_client()
    make_user(app)
    for _ in range(app.config["SIGN_IN_LOCKOUT_THRESHOLD"]):
        sign_in(client, password="wrong password, try again")
    assert sign_in(client).status_code == 400
    link = ask_for_link(client, mailbox)
    submit(client, link, {"password": NEW_PASSWORD})
    assert sign_in(client, password=NEW_PASSWORD).status_code == 302


def test_links_in_mail_never_follow_the_request_host(app_factory, mailbox):
    app = app_factory(SERVER_NAME_FOR_LINKS="https://onboarding.example.org")
    make_user(app)
    client = app.test_client()
    page = client.get("/reset-password", headers={"Host": "evil.example"})
    client.post(
        "/reset-password",
        headers={"Host": "evil.example"},
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "email": "pat@example.org"},
    )
    body = mailbox.last_to("pat@example.org").get_payload(decode=True).decode()
    assert "https://onboarding.example.org/reset-password/" in body
    assert "evil.example" not in body
