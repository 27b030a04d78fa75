"""Creating an account and confirming its email address."""

import re
from datetime import timedelta

from sqlalchemy import func, select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, EmailToken, User
from cqmr_wizard.models.base import utcnow

from .helpers import PASSWORD, link_from, page_text, sign_in, submit

ADA = {"full_name": "Ada Lovelace", "email": "Ada@Example.org", "password": PASSWORD}


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(User))


def events(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)).all()


def test_sign_up_creates_an_unverified_account_and_mails_a_link(app, client, mailbox):
    response = submit(client, "/sign-up", ADA)
    assert response.status_code == 302
    assert response.location == "/check-your-email"  # the address stays out of the URL
    page = client.get(response.location)
    assert "sent a link to confirm your email address to ada@example.org" in page_text(page)

    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.email == "ada@example.org"  # stored normalised
        assert user.full_name == "Ada Lovelace"
        assert user.email_verified_at is None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        user_id = user.id
    [event] = events(app, "account.signed_up")
    assert event.actor_id == user_id

    message = mailbox.last_to("ada@example.org")
    assert message["Subject"] == "Confirm your email address for CQMR onboarding"
    assert "Hello Ada Lovelace" in message.get_payload(decode=True).decode()
    link = link_from(message, "/verify-email/")
    with app.app_context():
        token = db.session.scalar(select(EmailToken))
        secret = link.rsplit("/", 1)[1]
        assert secret not in token.token_hash  # only the hash is stored
        assert timedelta(hours=23) < token.expires_at - utcnow() <= timedelta(hours=24)


def test_every_problem_is_shown_at_once_and_nothing_is_saved(app, client, mailbox):
    response = submit(client, "/sign-up", {"full_name": " ", "email": "not-an-email", "password": "short"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "<title>Error: Create an account" in html
    summary = re.search(r'id="error-summary".*?</ul>', html, re.S).group(0)
    assert '<a class="usa-link" href="#full_name">Enter your full name</a>' in summary
    assert 'href="#email">Enter an email address in the correct format' in summary
    assert 'href="#password">Password must be at least 12 characters' in summary
    assert 'aria-describedby="password-hint password-error"' in html
    assert user_count(app) == 0
    assert mailbox.messages == []


def test_weak_password_is_refused_with_a_reason(app, client):
    response = submit(client, "/sign-up", {**ADA, "password": "adalovelace1"})
    assert response.status_code == 400
    assert "Choose a password that is harder to guess" in page_text(response)
    response = submit(client, "/sign-up", {**ADA, "password": "x" * 129})
    assert "Password must be 128 characters or fewer" in page_text(response)
    response = submit(client, "/sign-up", {**ADA, "full_name": "A" * 201})
    assert "Full name must be 200 characters or fewer" in page_text(response)
    assert user_count(app) == 0


def test_an_address_can_have_only_one_account_and_sign_up_does_not_say_so(app, client, mailbox):
    first = submit(client, "/sign-up", ADA)
    again = app.test_client()
    response = submit(again, "/sign-up", {**ADA, "email": "ADA@example.ORG"})
    assert response.status_code == first.status_code == 302
    assert response.location == first.location == "/check-your-email"
    assert page_text(again.get(response.location)) == page_text(client.get(first.location))
    assert user_count(app) == 1
    first_mail, second_mail = mailbox.to("ada@example.org")
    assert "Someone tried to create a CQMR onboarding account" in second_mail["Subject"]
    assert "/verify-email/" not in second_mail.get_payload(decode=True).decode()


def test_verification_link_works_once(app, client, mailbox):
    submit(client, "/sign-up", ADA)
    link = link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
    response = client.get(link)
    assert response.status_code == 302 and response.location == "/sign-in"
    assert "Your email address is confirmed" in page_text(client.get("/sign-in"))
    assert len(events(app, "account.email_verified")) == 1

    used = client.get(link)
    assert used.status_code == 410
    assert "This link has already been used" in page_text(used)
    assert sign_in(client, "ada@example.org").status_code == 302
    assert len(events(app, "account.email_verified")) == 1


def test_unknown_and_expired_links(app, client, mailbox):
    unknown = client.get("/verify-email/not-a-real-token")
    assert unknown.status_code == 404
    assert "This link is not valid" in page_text(unknown)
    assert client.get("/verify-email/" + "x" * 500).status_code == 404

    submit(client, "/sign-up", ADA)
    link = link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
    with app.app_context():
        db.session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    expired = client.get(link)
    assert expired.status_code == 410
    assert "This link has expired" in page_text(expired)
    assert "Ask for a new confirmation link" in page_text(expired)
    with app.app_context():
        assert db.session.scalar(select(User)).email_verified_at is None


def test_unverified_account_cannot_sign_in_but_can_ask_for_a_new_link(app, client, mailbox):
    submit(client, "/sign-up", ADA)
    response = sign_in(client, "ada@example.org")
    assert response.status_code == 400
    assert "Confirm your email address before signing in" in page_text(response)
    assert "Send a new confirmation link" in page_text(response)
    assert client.get("/tasks").status_code == 302

    resend = submit(client, "/verify-email/resend", {"email": "ada@example.org"}, page="/check-your-email")
    assert resend.status_code == 302
    assert len(mailbox.to("ada@example.org")) == 2
    newest = link_from(mailbox.last_to("ada@example.org"), "/verify-email/")
    assert client.get(newest).status_code == 302
    assert sign_in(client, "ada@example.org").status_code == 302


def test_resending_reveals_nothing_about_accounts(app, client, mailbox):
    unknown = submit(
        client, "/verify-email/resend", {"email": "nobody@example.org"}, page="/check-your-email"
    )
    assert unknown.status_code == 302
    assert unknown.location == "/check-your-email"
    assert mailbox.messages == []
    bad = submit(client, "/verify-email/resend", {"email": "nope"}, page="/check-your-email")
    assert bad.status_code == 400
    assert "Error: Check your email" in bad.get_data(as_text=True)
