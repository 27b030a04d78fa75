"""Setting up two-step verification, the sign-in challenge, and what a password alone reaches."""

from __future__ import annotations

import re
import uuid

from flask import url_for
from sqlalchemy import select
from werkzeug.routing import AnyConverter, IntegerConverter, UUIDConverter

from cqmr_wizard.access import Access
from cqmr_wizard.extensions import db
from cqmr_wizard.models import TotpCredential

from .builders import make_user
from .helpers import PASSWORD, csrf_from, page_text, sign_in, stored_secret, submit, task_status, totp_now
from .mfa_helpers import (
    CHALLENGE,
    ENROLL,
    RECOVERY_CODES,
    codes_on_page,
    enroll_through_pages,
    events,
    key_on_page,
    password_only,
    post_code,
    steady_clock,
    wrong_code,
)

EMAIL = "pat@example.org"
COOKIE = "cqmr_session"
# What a session with only the password may use before two-step verification is set up; the
# challenge pages are open to such sessions too, but send them to set-up until it is done.
# What each page reachable before set-up answers (the POSTs carry only a CSRF token).
BEFORE_SET_UP = {
    ("mfa.enroll", "GET"): (200, None),
    ("mfa.enroll", "POST"): (400, None),
    ("mfa.restart", "POST"): (302, ENROLL),
    # Setting up a passkey instead: its page, and the options its script fetches (a sign-in
    # ceremony has no passkey to offer yet); a form with no passkey in it is refused.
    ("mfa.add_passkey", "GET"): (200, None),
    ("mfa.add_passkey", "POST"): (400, None),
    ("mfa.passkey_options", "POST"): (404, None),
}
REACHABLE_BEFORE_SET_UP = {
    "mfa.enroll",
    "mfa.restart",
    "mfa.add_passkey",
    "mfa.passkey_options",
    "auth.sign_out",
}
SIGNED_IN_PAGES = {
    *REACHABLE_BEFORE_SET_UP,
    "mfa.challenge",
    "mfa.challenge_recovery",
    "mfa.challenge_passkey",
}


def placeholder(converter) -> object:
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, UUIDConverter):
        return uuid.UUID(int=1)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    return "x"


def credentials(app, user_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.scalars(select(TotpCredential).where(TotpCredential.user_id == user_id))
        return sorted((row.state, row.secret_encrypted) for row in rows)


def test_a_password_alone_leads_to_set_up(app, client):
    make_user(app, mfa=False)
    response = sign_in(client)
    assert response.status_code == 302
    assert client.get("/tasks").location == ENROLL
    assert client.get(CHALLENGE).location == ENROLL


def test_until_set_up_only_set_up_sign_out_and_public_pages_are_reachable(app, client):
    make_user(app, mfa=False)
    password_only(client)
    token = csrf_from(client.get(ENROLL).get_data(as_text=True))
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        level = Access.PUBLIC if rule.endpoint == "static" else getattr(view, "access", None)
        if level is Access.PUBLIC or rule.endpoint == "auth.sign_out":
            continue
        assert level is not Access.SIGNED_IN or rule.endpoint in SIGNED_IN_PAGES, (
            f"{rule.endpoint} is open to password-only sessions"
        )
        values = {name: placeholder(rule._converters[name]) for name in rule.arguments}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method != "GET" else None
            response = client.open(url, method=method, data=data)
            checked += 1
            if rule.endpoint in REACHABLE_BEFORE_SET_UP:
                assert (response.status_code, response.location) == BEFORE_SET_UP[rule.endpoint, method]
            elif level is Access.ANONYMOUS:
                assert (response.status_code, response.location) == (302, "/tasks"), rule.endpoint
            else:
                assert (response.status_code, response.location) == (302, ENROLL), (
                    rule.endpoint,
                    method,
                    response.status_code,
                    response.location,
                )
    assert checked > 10
    signed_out = submit(client, "/sign-out", page=ENROLL)
    assert signed_out.location == "/sign-in"
    assert client.get(ENROLL).location.startswith("/sign-in")


def test_set_up_page_shows_a_labelled_qr_code_the_key_in_fours_and_the_settings(app, client):
    make_user(app, mfa=False)
    password_only(client)
    response = client.get(ENROLL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="qr-title"' in svg
    assert re.search(r'<title id="qr-title">QR code to add your Oregon CQMR account', svg)
    assert "style" not in svg
    text = page_text(response)
    key = re.search(r'id="totp-key">([^<]+)<', html).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", key)  # 32 characters: 160 bits
    for expected in (
        "Google Authenticator",
        "Microsoft Authenticator",
        EMAIL,
        "Oregon CQMR",
        "SHA-1, 6 digits, every 30 seconds",
        "Start again with a new key",
    ):
        assert expected in text
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    [started] = events(app, "mfa.enrollment_started")
    assert started["replacing"] is False


def test_the_key_stays_until_confirmed_or_deliberately_replaced(app, client):
    user_id = make_user(app, mfa=False)
    password_only(client)
    key = key_on_page(client.get(ENROLL))
    assert key_on_page(client.get(ENROLL)) == key
    [(state, stored)] = credentials(app, user_id)
    assert state == "pending" and key not in stored

    # Signing in again with the password still leads to set-up, with the same key.
    submit(client, "/sign-out", page=ENROLL)
    password_only(client)
    assert client.get("/tasks").location == ENROLL
    assert key_on_page(client.get(ENROLL)) == key

    restarted = submit(client, "/two-step-verification/set-up/new-key", page=ENROLL)
    assert restarted.location == ENROLL
    new_key = key_on_page(client.get(ENROLL))
    assert new_key != key
    assert len(credentials(app, user_id)) == 1
    assert [e.get("restarted") for e in events(app, "mfa.enrollment_started")] == [None, True]
    steady_clock()
    old = post_code(client, totp_now(key), url=ENROLL)
    assert old.status_code == 400 and "The code is not right" in page_text(old)


def test_confirming_a_code_activates_the_key_and_rotates_the_session(app, client, mailbox):
    user_id = make_user(app, mfa=False)
    password_only(client)
    secret = key_on_page(client.get(ENROLL))
    wrong = post_code(client, wrong_code(secret), url=ENROLL)
    assert wrong.status_code == 400
    assert page_text(wrong).startswith("Error: ") and "The code is not right" in page_text(wrong)
    assert credentials(app, user_id)[0][0] == "pending"
    assert key_on_page(wrong) == secret

    before = client.get_cookie(COOKIE).value
    steady_clock()
    response = post_code(client, totp_now(secret), url=ENROLL)
    assert response.status_code == 302 and response.location == RECOVERY_CODES
    assert client.get_cookie(COOKIE).value != before
    assert [state for state, _ in credentials(app, user_id)] == ["active"]
    [enrolled] = events(app, "mfa.enrolled")
    assert enrolled["replaced"] is False and enrolled["subject_user_id"] == user_id
    assert "Two-step verification is on" in mailbox.last_to(EMAIL)["Subject"]
    # The old session id no longer works.
    stale = app.test_client()
    stale.set_cookie(COOKIE, before, domain="localhost")
    assert stale.get("/tasks").location.startswith("/sign-in")
    # Once active, the set-up page no longer offers a new key.
    assert client.get(ENROLL).location == "/two-step-verification/settings"


def test_recovery_codes_are_shown_once_downloadable_printable_and_confirmed(app, client):
    make_user(app, mfa=False)
    password_only(client)
    secret = key_on_page(client.get(ENROLL))
    steady_clock()
    post_code(client, totp_now(secret), url=ENROLL)
    shown = client.get(RECOVERY_CODES)
    codes = codes_on_page(shown)
    assert len(codes) == 10 == len(set(codes))
    assert task_status(client.get("/tasks"), "mfa") == "In progress"

    download = client.get("/two-step-verification/recovery-codes/download")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    assert all(code in download.get_data(as_text=True) for code in codes)
    printable = client.get("/two-step-verification/recovery-codes/print")
    assert printable.status_code == 200
    assert all(code in page_text(printable) for code in codes)
    assert "print()" not in printable.get_data(as_text=True)  # printing needs no script

    position = int(re.search(r"Type recovery code (\d+)", page_text(shown)).group(1))
    other = codes[position % 10]
    refused = submit(client, RECOVERY_CODES, {"recovery_code": other})
    assert refused.status_code == 400
    assert f"That is not recovery code {position}" in page_text(refused)
    malformed = submit(client, RECOVERY_CODES, {"recovery_code": "not a code"})
    assert malformed.status_code == 400 and "16 letters and numbers" in page_text(malformed)

    typed = codes[position - 1].upper().replace("-", " ")
    saved = submit(client, RECOVERY_CODES, {"recovery_code": typed})
    assert saved.status_code == 302 and saved.location == "/tasks"
    assert task_status(client.get("/tasks"), "mfa") == "Completed"
    gone = client.get(RECOVERY_CODES)
    assert gone.status_code == 200 and codes_on_page(gone) == []
    assert "10 unused recovery codes" in page_text(gone)
    assert client.get("/two-step-verification/recovery-codes/download").status_code == 404
    assert client.get("/two-step-verification/recovery-codes/print").status_code == 404


def test_the_page_asked_for_is_reached_after_the_second_factor(app, client):
    make_user(app)
    secret = stored_secret(app, EMAIL)
    asked = client.get("/two-step-verification/settings")
    assert asked.location.startswith("/sign-in?next=")
    signed = submit(client, asked.location, {"email": EMAIL, "password": PASSWORD})
    assert signed.location == "/two-step-verification/settings"
    assert client.get(signed.location).location == CHALLENGE
    steady_clock()
    response = post_code(client, totp_now(secret))
    assert response.location == "/two-step-verification/settings"


def test_new_users_set_up_and_land_where_they_were_going(app, client):
    make_user(app, mfa=False)
    submit(client, "/sign-in?next=/two-step-verification/settings", {"email": EMAIL, "password": PASSWORD})
    assert client.get("/two-step-verification/settings").location == ENROLL
    _, _, saved = enroll_through_pages(client, app)
    assert saved.location == "/two-step-verification/settings"


def test_challenge_rotates_the_session_id(app, client):
    make_user(app)
    password_only(client)
    before = client.get_cookie(COOKIE).value
    steady_clock()
    assert post_code(client, totp_now(stored_secret(app, EMAIL))).status_code == 302
    assert client.get_cookie(COOKIE).value != before
    stale = app.test_client()
    stale.set_cookie(COOKIE, before, domain="localhost")
    assert stale.get("/tasks").status_code == 302


def test_pages_for_each_access_level(app, client):
    make_user(app)
    user_pages = [
        "/two-step-verification/settings",
        "/two-step-verification/change",
        "/two-step-verification/confirm-it-is-you",
        RECOVERY_CODES,
        "/two-step-verification/recovery-codes/new",
    ]
    for path in [ENROLL, CHALLENGE, "/two-step-verification/recovery-code", *user_pages]:
        assert client.get(path).location.startswith("/sign-in?next="), path
    password_only(client)
    for path in user_pages:
        assert client.get(path).location == CHALLENGE, path
    assert client.get(ENROLL).location == CHALLENGE
    assert client.get("/two-step-verification/recovery-code").status_code == 200
    steady_clock()
    post_code(client, totp_now(stored_secret(app, EMAIL)))
    assert client.get(CHALLENGE).location == "/tasks"
    assert client.get("/two-step-verification/recovery-code").location == "/tasks"
    assert client.get(ENROLL).location == "/two-step-verification/settings"
    for path in ["/two-step-verification/settings", "/two-step-verification/confirm-it-is-you"]:
        assert client.get(path).status_code == 200, path
    settings = page_text(client.get("/two-step-verification/settings"))
    assert "Change your authenticator app" in settings and "Get new recovery codes" in settings
