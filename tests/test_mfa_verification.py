"""TOTP verification rules: ±1 step, each step once per user (even across instances),
growing delays and lock-out counted per account in the database."""

from __future__ import annotations

import threading
from datetime import timedelta

from .builders import make_user
from .helpers import csrf_from, page_text, sign_in, stored_secret, totp_now
from .mfa_helpers import (
    CHALLENGE,
    ENROLL,
    events,
    key_on_page,
    mfa_state,
    password_only,
    post_code,
    steady_clock,
    totp_at_offset,
    wrong_code,
)

EMAIL = "pat@example.org"
NO_DELAYS = {"MFA_THROTTLE_BASE_DELAY": timedelta(0)}


def enrolled(app, email: str = EMAIL) -> tuple[int, str]:
    user_id = make_user(app, email)
    return user_id, stored_secret(app, email)


def test_code_from_oathtool_completes_sign_in(app, client):
    user_id, secret = enrolled(app)
    password_only(client)
    assert client.get("/tasks").location == CHALLENGE
    steady_clock()
    response = post_code(client, totp_now(secret))
    assert response.status_code == 302 and response.location == "/tasks"
    assert client.get("/tasks").status_code == 200
    [passed] = events(app, "mfa.challenge_passed")
    assert passed["subject_user_id"] == user_id and passed["method"] == "totp"
    assert passed["clock_offset_steps"] == 0


def test_codes_one_step_either_side_pass_with_a_clock_notice(app):
    _, secret = enrolled(app)
    steady_clock()
    late = app.test_client()
    password_only(late)
    response = post_code(late, totp_at_offset(secret, -1))
    assert response.status_code == 302
    assert "from the previous 30 seconds" in page_text(late.get("/tasks"))

    fast = app.test_client()
    password_only(fast)
    response = post_code(fast, totp_at_offset(secret, +1))
    assert response.status_code == 302
    assert "clock seems to be a little fast" in page_text(fast.get("/tasks"))


def test_codes_two_steps_away_are_refused(app, client, clock):
    _, secret = enrolled(app)
    password_only(client)
    steady_clock()
    for code in (totp_now(secret, at=clock.timestamp() - 60), totp_at_offset(secret, +2)):
        response = post_code(client, code)
        assert response.status_code == 400
        text = page_text(response)
        assert text.startswith("Error: ")
        assert "There is a problem" in text and "The code is not right" in text
        assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert client.get("/tasks").location == CHALLENGE
    assert events(app, "mfa.challenge_passed") == []
    assert [e["reason"] for e in events(app, "mfa.challenge_failed")] == ["wrong_code"] * 2


def test_badly_formed_codes_are_explained_and_not_counted(app, client):
    user_id, _ = enrolled(app)
    password_only(client)
    for typed, message in (
        ("", "Enter the 6-digit code"),
        ("12ab56", "must be 6 digits"),
        ("1234567", "must be 6 digits"),
    ):
        response = post_code(client, typed)
        assert response.status_code == 400
        assert message in page_text(response)
    assert mfa_state(app, user_id).failed_attempts == 0


def test_a_code_is_accepted_once_and_its_replay_is_refused_audited_and_mailed(app, mailbox):
    user_id, secret = enrolled(app)
    steady_clock()
    code = totp_now(secret)
    first, second = app.test_client(), app.test_client()
    password_only(first)
    password_only(second)
    assert post_code(first, code).status_code == 302
    replay = post_code(second, code)
    assert replay.status_code == 400
    assert "That code has already been used" in page_text(replay)
    assert second.get("/tasks").location == CHALLENGE
    [rejected] = events(app, "mfa.replay_rejected")
    assert rejected["subject_user_id"] == user_id and rejected["purpose"] == "sign_in"
    mail = mailbox.last_to(EMAIL)
    assert "already been used" in mail.get_payload(decode=True).decode()
    assert code not in mail.get_payload(decode=True).decode()


def test_one_code_sent_20_times_at_once_to_two_instances_is_accepted_once(app_factory):
    first, second = app_factory(), app_factory()
    user_id, secret = enrolled(first)
    sessions = []
    for i in range(20):
        client = (first if i % 2 else second).test_client()
        password_only(client)
        sessions.append((client, csrf_from(client.get(CHALLENGE).get_data(as_text=True))))
    steady_clock(margin=10)
    code = totp_now(secret)
    start = threading.Barrier(len(sessions))
    results: list[tuple[int, str | None]] = [None] * len(sessions)

    def submit_code(index: int) -> None:
        client, token = sessions[index]
        start.wait()
        response = client.post(CHALLENGE, data={"csrf_token": token, "code": code})
        results[index] = (response.status_code, response.location)

    threads = [threading.Thread(target=submit_code, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    accepted = [r for r in results if r == (302, "/tasks")]
    assert len(accepted) == 1, results
    assert all(status in (400, 429) for status, _ in results if (status, _) != (302, "/tasks"))
    assert len(events(first, "mfa.challenge_passed")) == 1
    signed_in = [c for c, _ in sessions if c.get("/tasks").status_code == 200]
    assert len(signed_in) == 1


def test_delays_grow_after_three_failures_even_for_the_right_code(app, client, clock):
    user_id, secret = enrolled(app)
    password_only(client)
    # One time step for the whole throttled stretch: moving to the next step in the middle of it
    # could carry the clock past the 1-second wait it checks.
    steady_clock(margin=15)
    for _ in range(3):
        assert post_code(client, wrong_code(secret)).status_code == 400
    assert mfa_state(app, user_id).failed_attempts == 3
    refused = post_code(client, totp_now(secret))
    assert refused.status_code == 429
    assert "Wait 1 second" in page_text(refused) and page_text(refused).startswith("Error: ")
    clock.advance(1.1)
    assert post_code(client, wrong_code(secret)).status_code == 400
    refused = post_code(client, totp_now(secret))
    assert refused.status_code == 429 and "Wait 2 seconds" in page_text(refused)
    clock.advance(2.1)
    steady_clock()
    assert post_code(client, totp_now(secret)).status_code == 302
    assert mfa_state(app, user_id).failed_attempts == 0
    reasons = [e["reason"] for e in events(app, "mfa.challenge_failed")]
    assert reasons.count("throttled") == 2


def test_ten_failures_lock_the_account_on_every_instance_until_the_wait_expires(app_factory, mailbox, clock):
    settings = {**NO_DELAYS, "MFA_LOCKOUT": timedelta(seconds=3)}
    first, second = app_factory(**settings), app_factory(**settings)
    user_id, secret = enrolled(first)
    one, other = first.test_client(), second.test_client()
    password_only(one)
    password_only(other)
    # One time step until the lock is checked: moving to the next step in the middle of it could
    # carry the clock past the 3-second lock.
    steady_clock(margin=20)
    for attempt in range(1, 10):
        response = post_code(one if attempt % 2 else other, wrong_code(secret))
        assert response.status_code == 400, attempt
    tenth = post_code(other, wrong_code(secret))
    assert tenth.status_code == 429
    assert "locked" in page_text(tenth)
    for client in (one, other):
        refused = post_code(client, totp_now(secret))
        assert refused.status_code == 429 and "locked" in page_text(refused)
    assert client.get("/tasks").location == CHALLENGE
    [locked] = events(first, "mfa.locked")
    assert locked["subject_user_id"] == user_id
    assert "is locked" in mailbox.last_to(EMAIL)["Subject"]

    clock.advance(3.1)
    steady_clock()
    assert post_code(one, totp_now(secret)).status_code == 302
    assert [e["reason"] for e in events(first, "mfa.unlocked")] == ["lock_expired"]


def test_a_success_before_the_tenth_failure_starts_the_count_again(app_factory):
    app = app_factory(**NO_DELAYS)
    user_id, secret = enrolled(app)
    client = app.test_client()
    password_only(client)
    for _ in range(9):
        assert post_code(client, wrong_code(secret)).status_code == 400
    steady_clock()
    assert post_code(client, totp_now(secret)).status_code == 302
    assert mfa_state(app, user_id).failed_attempts == 0
    again = app.test_client()
    password_only(again)
    for _ in range(9):
        assert post_code(again, wrong_code(secret)).status_code == 400
    assert mfa_state(app, user_id).locked_until is None
    assert sign_in(app.test_client()).status_code == 302


def test_confirming_a_new_authenticator_is_throttled_too(app_factory):
    app = app_factory(**NO_DELAYS)
    user_id = make_user(app, mfa=False)
    client = app.test_client()
    password_only(client)
    secret = key_on_page(client.get(ENROLL))
    for _ in range(10):
        response = post_code(client, wrong_code(secret), url=ENROLL)
    assert response.status_code == 429 and "locked" in page_text(response)
    steady_clock()
    refused = post_code(client, totp_now(secret), url=ENROLL)
    assert refused.status_code == 429
    assert [e["purpose"] for e in events(app, "mfa.challenge_failed")][-1] == "enrollment"
    assert mfa_state(app, user_id).locked_until is not None
