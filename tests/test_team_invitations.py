"""Invitations: sending, the single-use link, acceptance by a new or existing account, reuse,
expiry, revocation, resending, the wrong account, tampering, and the rate limit."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from sqlalchemy import select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Invitation, User
from cqmr_wizard.models.base import utcnow

from .builders import add_member, make_user
from .helpers import (
    PASSWORD,
    csrf_from,
    forge,
    link_from,
    page_text,
    sign_in,
    stored_secret,
    submit,
    totp_now,
)
from .team_support import (
    admin_with_org,
    events,
    invitations,
    invite,
    membership_of,
    roles_of,
    signed_in,
    user_id_of,
)

INVITEE = "bea@alpha.example.org"


def invited(app, mailbox, roles=("viewer", "submitter"), email=INVITEE):
    """An administrator's client, and the path of the link mailed to the invited person."""
    admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    response = invite(admin, "Bea Builder", email, roles)
    assert response.status_code == 302, page_text(response)
    return admin, link_from(mailbox.last_to(email), "/invitations/")


def test_invitation_link_is_random_hashed_and_bound_to_org_and_email(app, mailbox):
    admin, link = invited(app, mailbox)
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, base64url: 256 bits
    message = mailbox.last_to(INVITEE)
    assert "Alpha Clinic" in message.get_payload(decode=True).decode()
    [row] = invitations(app)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.email == INVITEE and row.roles == ["submitter", "viewer"]
    assert timedelta(days=6, hours=23) < row.expires_at - utcnow() <= timedelta(days=7)
    with app.app_context():
        stored = json.dumps(
            [list(r) for r in db.session.execute(select(Invitation.__table__)).all()], default=str
        )
    assert token not in stored
    [event] = events(app, "invitation.created")
    assert event.actor_id == user_id_of(app, "admin@alpha.example.org")
    assert json.loads(event.details)["roles"] == ["submitter", "viewer"]


def test_new_person_accepts_creates_account_with_verified_email_and_roles(app, mailbox):
    _, link = invited(app, mailbox)
    guest = app.test_client()
    page = guest.get(link)
    assert page.status_code == 200
    text = page_text(page)
    assert "Join Alpha Clinic" in text and INVITEE in text
    assert 'value="Bea Builder"' in page.get_data(as_text=True)  # name prefilled
    assert 'name="email"' not in page.get_data(as_text=True)  # the email cannot be changed

    # A tampered form that adds an email field changes nothing.
    response = forge(
        guest,
        link,
        {"full_name": "Bea Builder", "password": PASSWORD, "email": "someone-else@example.org"},
        page=link,
    )
    assert response.status_code == 302
    assert roles_of(app, INVITEE) == ["submitter", "viewer"]
    assert user_id_of(app, "someone-else@example.org") is None
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == INVITEE))
        assert user.email_verified_at is not None
    [row] = invitations(app)
    assert row.accepted_at is not None and row.accepted_user_id == user_id_of(app, INVITEE)
    assert events(app, "invitation.accepted") and events(app, "membership.created")

    # The link works once.
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert "already been accepted" in page_text(again)


def test_weak_password_is_refused_on_the_page_and_nothing_is_created(app, mailbox):
    _, link = invited(app, mailbox)
    guest = app.test_client()
    response = submit(guest, link, {"full_name": "", "password": "short"})
    assert response.status_code == 400
    text = page_text(response)
    assert text.startswith("Error: ")
    assert "Enter your full name" in text
    assert "There is a problem" in text
    response = submit(guest, link, {"full_name": "Bea Builder", "password": "short"})
    assert response.status_code == 400 and "at least 12 characters" in page_text(response)
    assert user_id_of(app, INVITEE) is None
    assert invitations(app)[0].accepted_at is None


def test_expired_invitation_is_refused(app, mailbox):
    _, link = invited(app, mailbox)
    with app.app_context():  # seven days pass
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    guest = app.test_client()
    response = guest.get(link)
    assert response.status_code == 410
    assert "expired" in page_text(response)
    token = csrf_from(guest.get("/sign-in").get_data(as_text=True))
    response = guest.post(link, data={"csrf_token": token, "full_name": "Bea", "password": PASSWORD})
    assert response.status_code == 410
    assert user_id_of(app, INVITEE) is None


def test_invitation_ttl_comes_from_configuration(app_factory, mailbox):
    app = app_factory(INVITATION_TTL=timedelta(hours=2))
    invited(app, mailbox)
    [row] = invitations(app)
    assert timedelta(hours=1, minutes=59) < row.expires_at - utcnow() <= timedelta(hours=2)


def test_revoked_invitation_link_stops_working(app, mailbox):
    admin, link = invited(app, mailbox)
    [row] = invitations(app)
    response = submit(admin, f"/team/invitations/{row.id}/revoke", {})
    assert response.status_code == 302
    guest = app.test_client()
    response = guest.get(link)
    assert response.status_code == 410 and "withdrawn" in page_text(response)
    [event] = events(app, "invitation.revoked")
    assert json.loads(event.details)["old"] == "pending"
    assert json.loads(event.details)["new"] == "revoked"
    # Revoking twice is refused with a reason, not an error page.
    response = submit(admin, f"/team/invitations/{row.id}/revoke", {})
    assert response.status_code == 400 and "already revoked" in page_text(response)


def test_resend_mails_a_new_link_and_kills_the_old_one(app, mailbox):
    admin, old_link = invited(app, mailbox)
    [row] = invitations(app)
    response = submit(admin, f"/team/invitations/{row.id}/resend", {}, page=f"/team/invitations/{row.id}")
    assert response.status_code == 302
    new_link = link_from(mailbox.last_to(INVITEE), "/invitations/")
    assert new_link != old_link
    assert app.test_client().get(old_link).status_code == 404
    guest = app.test_client()
    assert guest.get(new_link).status_code == 200
    assert submit(guest, new_link, {"full_name": "Bea Builder", "password": PASSWORD}).status_code == 302
    assert roles_of(app, INVITEE) == ["submitter", "viewer"]
    [event] = events(app, "invitation.resent")
    details = json.loads(event.details)
    assert details["old"]["expires_at"] and details["new"]["expires_at"]
    # An accepted invitation cannot be resent (its page no longer offers it).
    response = forge(admin, f"/team/invitations/{row.id}/resend", {}, page=f"/team/invitations/{row.id}")
    assert response.status_code == 400 and "already accepted" in page_text(response)


def test_resend_revives_an_expired_invitation(app, mailbox):
    admin, _ = invited(app, mailbox)
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()
    [row] = invitations(app)
    team = admin.get("/team")
    assert "Invitation expired" in page_text(team)
    assert 'class="usa-tag bg-base-dark cqmr-task-status">Invitation expired<' in team.get_data(as_text=True)
    submit(admin, f"/team/invitations/{row.id}/resend", {}, page=f"/team/invitations/{row.id}")
    link = link_from(mailbox.last_to(INVITEE), "/invitations/")
    assert app.test_client().get(link).status_code == 200


def test_purge_erases_an_expired_invitations_link_and_resend_still_revives_it(app, mailbox):
    admin, old_link = invited(app, mailbox)
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    assert "Removed:" in app.test_cli_runner().invoke(args=["purge"]).output
    [row] = invitations(app)
    assert row.token_hash is None
    assert app.test_client().get(old_link).status_code == 404
    assert "Invitation expired" in page_text(admin.get("/team"))  # the invitation itself stays
    submit(admin, f"/team/invitations/{row.id}/resend", {}, page=f"/team/invitations/{row.id}")
    link = link_from(mailbox.last_to(INVITEE), "/invitations/")
    assert link != old_link and app.test_client().get(link).status_code == 200


def test_tampered_token_is_not_found(app, mailbox):
    _, link = invited(app, mailbox)
    token = link.rsplit("/", 1)[1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    guest = app.test_client()
    for path in (
        f"/invitations/{flipped}",
        f"/invitations/{token[:-4]}",
        f"/invitations/{token}x",
        f"/invitations/{'a' * 300}",
    ):
        response = guest.get(path)
        assert response.status_code == 404, path
        assert "not valid" in page_text(response)
    token = csrf_from(guest.get("/sign-in").get_data(as_text=True))
    assert (
        guest.post(
            f"/invitations/{flipped}", data={"csrf_token": token, "full_name": "X", "password": PASSWORD}
        ).status_code
        == 404
    )
    assert user_id_of(app, INVITEE) is None


def test_signed_in_with_a_different_account_is_refused_clearly(app, mailbox):
    _, link = invited(app, mailbox)
    make_user(app, "carl@elsewhere.example.org", full_name="Carl Other")
    carl = signed_in(app, "carl@elsewhere.example.org")
    response = carl.get(link)
    assert response.status_code == 403
    text = page_text(response)
    assert INVITEE in text and "carl@elsewhere.example.org" in text
    assert "different account" in text
    token = csrf_from(carl.get("/tasks").get_data(as_text=True))
    response = carl.post(link, data={"csrf_token": token})
    assert response.status_code == 403
    assert membership_of(app, "carl@elsewhere.example.org") is None
    assert invitations(app)[0].accepted_at is None


def test_existing_account_without_organization_signs_in_and_accepts(app, mailbox):
    make_user(app, INVITEE, full_name="Bea Builder")
    _, link = invited(app, mailbox)
    guest = app.test_client()
    page = guest.get(link)
    assert page.status_code == 200
    assert "Sign in to accept" in page_text(page)
    sign_in_url = re.search(r'href="(/sign-in\?next=[^"]+)"', page.get_data(as_text=True)).group(1)
    assert sign_in_url == f"/sign-in?next={link}"
    response = submit(guest, sign_in_url, {"email": INVITEE, "password": PASSWORD})
    assert response.status_code == 302 and response.location == link
    # Joining takes the second factor too, then comes back to the invitation.
    response = guest.get(link)
    assert response.status_code == 302 and "/two-step-verification" in response.location
    response = submit(guest, response.location, {"code": totp_now(stored_secret(app, INVITEE))})
    assert response.status_code == 302 and response.location == link
    join = guest.get(link)
    assert join.status_code == 200 and "Accept invitation" in page_text(join)
    response = submit(guest, link, {})
    assert response.status_code == 302 and response.location.endswith("/tasks")
    assert roles_of(app, INVITEE) == ["submitter", "viewer"]


def test_inviting_someone_of_another_organization_reveals_nothing_and_acceptance_refuses(app, mailbox):
    _, beta_org = admin_with_org(app, "boss@beta.example.org", org_name="Beta Health")
    add_member(app, beta_org, email="taken@beta.example.org", roles=("viewer",))
    admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    response = invite(admin, "Taken Person", "Taken@Beta.example.org")
    assert response.status_code == 302  # the same answer as for anyone else
    link = link_from(mailbox.last_to("taken@beta.example.org"), "/invitations/")
    taken = signed_in(app, "taken@beta.example.org")
    refused = taken.get(link)
    assert refused.status_code == 409
    assert "already belongs to an organization" in page_text(refused)
    assert roles_of(app, "taken@beta.example.org") is not None  # still only in Beta Health
    mailbox.clear()
    response = invite(admin, "Me Again", "admin@alpha.example.org")
    assert response.status_code == 400 and "already a member of your organization" in page_text(response)
    invite(admin, "Bea", INVITEE)
    response = invite(admin, "Bea", INVITEE)
    assert response.status_code == 400 and "already has an invitation waiting" in page_text(response)
    assert len(invitations(app)) == 2


def test_accepting_after_joining_another_organization_is_refused(app, mailbox):
    make_user(app, INVITEE, full_name="Bea Builder")
    _, link = invited(app, mailbox)
    bea = signed_in(app, INVITEE)
    # Meanwhile Bea starts an organization of her own.
    assert submit(bea, "/onboarding/eligibility", {"eligibility": "covered_entity"}).status_code == 302
    response = bea.get(link)
    assert response.status_code == 409 and "only one organization" in page_text(response)


def test_invite_form_errors(app, mailbox):
    admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    response = submit(admin, "/team/invite", {"full_name": "", "email": "", "roles": []})
    assert response.status_code == 400
    text = page_text(response)
    assert text.startswith("Error: ")
    for message in (
        "Enter the person's full name",
        "Enter the person's email address",
        "Select at least one role",
    ):
        assert message in text
    html = response.get_data(as_text=True)
    assert 'href="#roles-0"' in html and 'id="roles-0"' in html
    response = submit(admin, "/team/invite", {"full_name": "X", "email": "not-an-email", "roles": ["owner"]})
    text = page_text(response)
    assert "correct format" in text and "Select roles from the list" in text
    assert invitations(app) == [] and mailbox.messages == []


def test_invite_page_describes_every_role(app):
    admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    text = page_text(admin.get("/team/invite"))
    from cqmr_wizard.models.organizations import ROLES

    for name, description in ROLES.values():
        assert name in text and description in text


def test_rate_limit_is_shared_by_every_worker(app_factory, mailbox):
    app = app_factory(INVITATION_RATE_LIMIT=2)
    other_worker = app_factory(INVITATION_RATE_LIMIT=2)
    admin_with_org(app)
    first = signed_in(app, "admin@alpha.example.org")
    second = signed_in(other_worker, "admin@alpha.example.org")
    assert invite(first, "One", "one@alpha.example.org").status_code == 302
    assert invite(second, "Two", "two@alpha.example.org").status_code == 302
    response = invite(first, "Three", "three@alpha.example.org")
    assert response.status_code == 429
    assert "can send 2 invitations every 60 minutes" in page_text(response)
    response = invite(second, "Three", "three@alpha.example.org")
    assert response.status_code == 429
    assert len(invitations(app)) == 2
    assert mailbox.to("three@alpha.example.org") == []
    # Resending counts too.
    row = invitations(app)[0]
    response = submit(first, f"/team/invitations/{row.id}/resend", {}, page=f"/team/invitations/{row.id}")
    assert response.status_code == 429


def test_registry_operators_are_not_revealed_and_cannot_accept(app, mailbox):
    operator = make_user(app, "staff@cqmr.example.org", full_name="Registry Staff")
    with app.app_context():
        db.session.get(User, operator).is_operator = True
        db.session.commit()
    admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    response = invite(admin, "Registry Staff", "staff@cqmr.example.org")
    assert response.status_code == 302
    link = link_from(mailbox.last_to("staff@cqmr.example.org"), "/invitations/")
    staff = app.test_client()
    assert sign_in(staff, "staff@cqmr.example.org").status_code == 302
    refused = staff.get(link)
    assert refused.status_code == 403
    assert "Registry operators cannot join an organization" in page_text(refused)
    assert membership_of(app, "staff@cqmr.example.org") is None


def test_mail_service_down_keeps_the_invitation_and_mails_it_later(app_factory, mailbox):
    from .helpers import free_port

    app = app_factory(MAIL_PORT=free_port(), OUTBOX_RETRY_BASE=timedelta(0))  # nothing listens there
    admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    response = invite(admin, "Bea Builder", INVITEE)
    assert response.status_code == 302
    assert len(invitations(app)) == 1 and len(events(app, "invitation.created")) == 1
    assert mailbox.to(INVITEE) == []
    result = app_factory().test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0
    assert link_from(mailbox.last_to(INVITEE), "/invitations/")
