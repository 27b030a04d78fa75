"""Recovery codes at sign-in, changing the authenticator, new recovery codes, and an
organization administrator's reset and unlock."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import RecoveryCode, TotpCredential

from .builders import add_member, make_organization, make_user
from .helpers import csrf_from, forge, fresh_code, page_text, sign_in, stored_secret, submit, totp_now
from .mfa_helpers import (
    CHALLENGE,
    ENROLL,
    RECOVERY_CHALLENGE,
    RECOVERY_CODES,
    codes_on_page,
    enroll_through_pages,
    events,
    key_on_page,
    mfa_state,
    password_only,
    post_code,
    steady_clock,
    wrong_code,
)

EMAIL = "pat@example.org"
SETTINGS = "/two-step-verification/settings"
CHANGE = "/two-step-verification/change"
REVERIFY = "/two-step-verification/confirm-it-is-you"
NEW_CODES = "/two-step-verification/recovery-codes/new"


def enrolled_with_codes(app, client, email: str = EMAIL) -> tuple[str, list[str]]:
    make_user(app, email, mfa=False)
    password_only(client, email)
    secret, codes, saved = enroll_through_pages(client, app, email)
    assert saved.status_code == 302
    return secret, codes


def test_a_recovery_code_signs_in_once_and_the_user_is_warned(app, client, mailbox):
    secret, codes = enrolled_with_codes(app, client)
    submit(client, "/sign-out", page="/tasks")
    password_only(client)
    typed = " " + codes[0].upper().replace("-", " ") + " "
    response = post_code(client, typed, url=RECOVERY_CHALLENGE, field="recovery_code")
    assert response.status_code == 302 and response.location == "/tasks"
    assert "You have 9 recovery codes left" in page_text(client.get("/tasks"))
    mail = mailbox.last_to(EMAIL)
    assert "recovery code was used" in mail["Subject"]
    assert "9 recovery codes left" in mail.get_payload(decode=True).decode()
    [used] = events(app, "mfa.recovery_code_used")
    assert used["remaining"] == 9
    assert events(app, "mfa.challenge_passed")[-1]["method"] == "recovery_code"

    again = app.test_client()
    password_only(again)
    refused = post_code(again, codes[0], url=RECOVERY_CHALLENGE, field="recovery_code")
    assert refused.status_code == 400
    assert page_text(refused).startswith("Error: ")
    assert "not right, or it has already been used" in page_text(refused)
    assert again.get("/tasks").location == CHALLENGE
    malformed = post_code(again, "12345", url=RECOVERY_CHALLENGE, field="recovery_code")
    assert malformed.status_code == 400 and "16 letters and numbers" in page_text(malformed)
    assert post_code(again, codes[1], url=RECOVERY_CHALLENGE, field="recovery_code").status_code == 302


def test_two_requests_racing_with_one_recovery_code_get_in_once(app_factory):
    first = app_factory()
    second = app_factory()
    client = first.test_client()
    _, codes = enrolled_with_codes(first, client)
    racers = []
    for app in (first, second, first, second):
        racer = app.test_client()
        password_only(racer)
        racers.append((racer, csrf_from(racer.get(RECOVERY_CHALLENGE).get_data(as_text=True))))
    start = threading.Barrier(len(racers))
    results = []

    def race(racer, token):
        start.wait()
        results.append(
            racer.post(RECOVERY_CHALLENGE, data={"csrf_token": token, "recovery_code": codes[5]}).status_code
        )

    threads = [threading.Thread(target=race, args=pair) for pair in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [302, 400, 400, 400]
    assert len(events(first, "mfa.recovery_code_used")) == 1


def test_changing_the_authenticator_needs_a_fresh_code_and_replaces_the_old_one(app_factory, mailbox, clock):
    app = app_factory(MFA_FRESH_WINDOW=timedelta(seconds=3))
    client = app.test_client()
    old_secret, codes = enrolled_with_codes(app, client)
    clock.advance(3.1)
    assert client.get(CHANGE).location == REVERIFY + "?next=/two-step-verification/change"
    wrong = submit(client, REVERIFY + "?next=/two-step-verification/change", {"code": wrong_code(old_secret)})
    assert wrong.status_code == 400 and "The code is not right" in page_text(wrong)
    fresh = submit(
        client, REVERIFY + "?next=/two-step-verification/change", {"code": fresh_code(app, EMAIL, old_secret)}
    )
    assert fresh.location == CHANGE
    page = client.get(CHANGE)
    assert page.status_code == 200 and "Change your authenticator app" in page_text(page)
    new_secret = key_on_page(page)
    assert new_secret != old_secret
    confirmed = submit(client, CHANGE, {"code": fresh_code(app, EMAIL, new_secret)})
    assert confirmed.location == SETTINGS
    with app.app_context():
        states = db.session.scalars(select(TotpCredential.state)).all()
        assert states == ["active"]
        assert len(db.session.scalars(select(RecoveryCode)).all()) == 10  # codes are kept
    assert events(app, "mfa.enrolled")[-1]["replaced"] is True
    assert "authenticator app was changed" in mailbox.last_to(EMAIL)["Subject"]

    submit(client, "/sign-out", page="/tasks")
    steady_clock()
    password_only(client)
    assert post_code(client, totp_now(old_secret)).status_code == 400
    assert sign_in(app.test_client(), secret=new_secret).location == "/tasks"


def test_new_recovery_codes_replace_the_old_ones(app, client, mailbox):
    secret, old_codes = enrolled_with_codes(app, client)
    asked = client.get(NEW_CODES)
    assert asked.location == REVERIFY + "?next=" + NEW_CODES  # even right after signing in
    submit(client, asked.location, {"code": fresh_code(app, EMAIL, secret)})
    page = client.get(NEW_CODES)
    assert page.status_code == 200 and "10 unused recovery codes" in page_text(page)
    response = submit(client, NEW_CODES)
    assert response.location == RECOVERY_CODES
    new_codes = codes_on_page(client.get(RECOVERY_CODES))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert events(app, "mfa.recovery_codes_regenerated")
    assert "New recovery codes" in mailbox.last_to(EMAIL)["Subject"]
    submit(client, "/sign-out", page="/tasks")
    password_only(client)
    assert post_code(client, old_codes[0], url=RECOVERY_CHALLENGE, field="recovery_code").status_code == 400
    assert post_code(client, new_codes[0], url=RECOVERY_CHALLENGE, field="recovery_code").status_code == 302


def test_new_recovery_codes_need_a_fresh_code(app_factory):
    app = app_factory(MFA_FRESH_WINDOW=timedelta(0))
    client = app.test_client()
    make_user(app)
    sign_in(client)
    assert client.get(NEW_CODES).location.startswith(REVERIFY)
    with app.app_context():
        assert len(db.session.scalars(select(RecoveryCode)).all()) == 0


def organization_with_member(app):
    admin_id = make_user(app, "ada@example.org", full_name="Ada Admin")
    member_id = make_user(app, EMAIL, full_name="Pat Member")
    org_id = make_organization(app, admin_id, roles=("admin",))
    add_member(app, org_id, user_id=member_id, roles=("submitter",))
    return admin_id, member_id, org_id


def test_an_administrator_resets_a_members_second_factor(app, mailbox):
    admin_id, member_id, org_id = organization_with_member(app)
    member = app.test_client()
    sign_in(member)
    assert member.get("/tasks").status_code == 200
    admin = app.test_client()
    sign_in(admin, "ada@example.org")
    url = f"/two-step-verification/members/{member_id}"
    page = admin.get(url)
    assert page.status_code == 200
    assert "Pat Member" in page_text(page) and "Set up on" in page_text(page)

    admin_secret = stored_secret(app, "ada@example.org")
    wrong = submit(admin, url + "/reset", {"code": wrong_code(admin_secret)}, page=url)
    assert wrong.status_code == 400 and "The code is not right" in page_text(wrong)
    assert page_text(wrong).startswith("Error: ")
    missing = submit(admin, url + "/reset", {"code": ""}, page=url)
    assert missing.status_code == 400 and "Enter the 6-digit code" in page_text(missing)
    assert stored_secret(app, EMAIL) is not None

    reset = submit(
        admin, url + "/reset", {"code": fresh_code(app, "ada@example.org", admin_secret)}, page=url
    )
    assert reset.status_code == 302 and reset.location == url
    assert "was reset" in page_text(admin.get(url))
    assert stored_secret(app, EMAIL) is None
    [event] = events(app, "mfa.reset")
    assert event["actor_id"] == admin_id and event["subject_user_id"] == member_id
    assert event["by_user_id"] == admin_id and event["organization_id"] == org_id
    mail = mailbox.last_to(EMAIL)
    assert "was reset" in mail["Subject"] and "Ada Admin" in mail.get_payload(decode=True).decode()
    # The member's sessions ended; at the next sign-in they set up again.
    assert member.get("/tasks").location.startswith("/sign-in")
    again = app.test_client()
    password_only(again)
    assert again.get("/tasks").location == ENROLL


def test_members_of_other_organizations_are_not_found(app):
    admin_id, member_id, _ = organization_with_member(app)
    outsider_id = make_user(app, "out@example.org")
    make_organization(app, outsider_id, roles=("admin",))
    admin = app.test_client()
    sign_in(admin, "ada@example.org")
    for path in (f"/two-step-verification/members/{outsider_id}", "/two-step-verification/members/999999"):
        assert admin.get(path).status_code == 404
    page = f"/two-step-verification/members/{member_id}"
    for action in ("reset", "unlock"):
        response = forge(
            admin, f"/two-step-verification/members/{outsider_id}/{action}", {"code": "123456"}, page=page
        )
        assert response.status_code == 404
    assert stored_secret(app, "out@example.org") is not None


def test_member_pages_for_each_access_level(app):
    admin_id, member_id, org_id = organization_with_member(app)
    url = f"/two-step-verification/members/{admin_id}"
    assert app.test_client().get(url).location.startswith("/sign-in")
    half = app.test_client()
    password_only(half, "ada@example.org")
    assert half.get(url).location == CHALLENGE
    plain_member = app.test_client()
    sign_in(plain_member)
    assert plain_member.get(url).status_code == 403
    response = forge(plain_member, url + "/reset", {"code": "123456"}, page="/tasks")
    assert response.status_code == 403
    make_user(app, "loner@example.org")
    loner = app.test_client()
    sign_in(loner, "loner@example.org")
    assert loner.get(url).location == "/tasks"


def test_administrators_cannot_reset_themselves_here(app):
    admin_id, _, _ = organization_with_member(app)
    admin = app.test_client()
    sign_in(admin, "ada@example.org")
    url = f"/two-step-verification/members/{admin_id}"
    assert "This is your own account" in page_text(admin.get(url))
    secret = stored_secret(app, "ada@example.org")
    refused = forge(admin, url + "/reset", {"code": fresh_code(app, "ada@example.org", secret)}, page=url)
    assert refused.status_code == 400 and "your own account" in page_text(refused)
    assert stored_secret(app, "ada@example.org") == secret


def test_an_administrator_unlocks_a_locked_member(app_factory, mailbox):
    app = app_factory(MFA_THROTTLE_BASE_DELAY=timedelta(0))
    admin_id, member_id, _ = organization_with_member(app)
    secret = stored_secret(app, EMAIL)
    member = app.test_client()
    password_only(member)
    for _ in range(10):
        response = post_code(member, wrong_code(secret))
    assert response.status_code == 429
    admin = app.test_client()
    sign_in(admin, "ada@example.org")
    url = f"/two-step-verification/members/{member_id}"
    assert "Locked" in page_text(admin.get(url))
    unlocked = submit(admin, url + "/unlock", page=url)
    assert unlocked.location == url
    assert "is unlocked" in page_text(admin.get(url))
    assert mfa_state(app, member_id).locked_until is None
    [event] = events(app, "mfa.unlocked")
    assert event["reason"] == "administrator" and event["actor_id"] == admin_id
    assert "unlocked" in mailbox.last_to(EMAIL)["Subject"]
    steady_clock()
    assert post_code(member, totp_now(secret)).status_code == 302
