"""Helpers that let tests speak HTTP as a user would."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from html import unescape

from sqlalchemy import func, select

from cqmr_wizard.auth.passwords import hash_password
from cqmr_wizard.extensions import db
from cqmr_wizard.models import MfaState, TotpCredential, User
from cqmr_wizard.models.base import utcnow

PASSWORD = "correct horse battery staple 42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def page_text(response) -> str:
    """The visible text of a page, whitespace folded, for assertions."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def submit(client, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """GET the page holding the form (or `page`), then POST `data` with its CSRF token."""
    form_page = client.get(page or url)
    assert form_page.status_code == 200, (form_page.status_code, page or url)
    payload = {"csrf_token": csrf_from(form_page.get_data(as_text=True)), **(data or {})}
    return client.post(url, data=payload, **kwargs)


def make_user(
    app,
    email: str = "pat@example.org",
    *,
    full_name: str = "Pat Example",
    password: str = PASSWORD,
    verified: bool = True,
    mfa: bool = True,
) -> int:
    """A user straight in the database; with `mfa`, already enrolled in two-step verification
    (see `enroll_mfa`), so that `sign_in` takes them all the way in."""
    with app.app_context():
        user = User(
            email=email,
            full_name=full_name,
            password_hash=hash_password(password),
            email_verified_at=utcnow() if verified else None,
        )
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    if mfa:
        enroll_mfa(app, user_id)
    return user_id


def enroll_mfa(app, user_id: int, *, recovery_codes_saved: bool = True) -> str:
    """Give a user an active TOTP credential directly in the database; return its secret."""
    from cqmr_wizard.mfa import totp

    with app.app_context():
        secret = totp.new_secret()
        db.session.add(
            TotpCredential(
                user_id=user_id, state="active", activated_at=utcnow(), secret_encrypted=totp.encrypt(secret)
            )
        )
        state = db.session.get(MfaState, user_id)
        if state is None:
            state = MfaState(user_id=user_id, failed_attempts=0)
            db.session.add(state)
        state.recovery_codes_confirmed_at = utcnow() if recovery_codes_saved else None
        db.session.commit()
    return secret


def totp_now(secret: str, at: float | None = None) -> str:
    """The code oathtool, an independent RFC 6238 implementation, gives now (or at unix `at`)."""
    command = ["oathtool", "--totp", "-b"]
    if at is not None:
        command += ["-N", f"@{int(at)}"]
    result = subprocess.run([*command, secret], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def _credentials(app, email: str) -> list[tuple[str, str, int | None]]:
    """(state, decrypted secret, last accepted step) of each of the user's credentials."""
    from cqmr_wizard.mfa import totp

    with app.app_context():
        rows = db.session.execute(
            select(TotpCredential.state, TotpCredential.secret_encrypted, TotpCredential.last_used_step)
            .join(User, User.id == TotpCredential.user_id)
            .where(func.lower(User.email) == email.strip().lower())
        ).all()
        return [(row.state, totp.decrypt(row.secret_encrypted), row.last_used_step) for row in rows]


def stored_secret(app, email: str) -> str | None:
    """The secret of the user's active credential, decrypted as the server would, or None."""
    return next((secret for state, secret, _ in _credentials(app, email) if state == "active"), None)


def fresh_code(app, email: str, secret: str) -> str:
    """A code for `secret` the server has not accepted yet, as a person would wait for: this
    time step's, else the next one's (accepted as drift), else wait until one is due."""
    last = next((step for _, known, step in _credentials(app, email) if known == secret), None)
    step = int(time.time()) // 30
    if last is not None and last >= step:
        step = last + 1
        while step > int(time.time()) // 30 + 1:
            time.sleep(0.5)
    return totp_now(secret, at=step * 30)


def sign_in(
    client,
    email: str = "pat@example.org",
    password: str = PASSWORD,
    secret: str | None = None,
    *,
    second_factor: bool = True,
):
    """Sign in with the password, then, if the user has an authenticator (`secret`, or the one in
    the database), give a fresh code on the challenge page. Returns the last response.
    `second_factor=False` stops after the password."""
    response = submit(client, "/sign-in", {"email": email, "password": password})
    if response.status_code != 302 or not second_factor:
        return response
    app = client.application
    secret = secret or stored_secret(app, email)
    if secret is None:
        return response
    return submit(client, "/two-step-verification/", {"code": fresh_code(app, email, secret)})


def link_from(message, path_prefix: str) -> str:
    """The path of the first link in a mail that starts with `path_prefix`."""
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", body)
    assert match, f"no {path_prefix} link in mail"
    return match.group(1)


def task_status(response, key: str) -> str:
    """The status shown on the task list for task `key`."""
    html = response.get_data(as_text=True)
    match = re.search(r'id="status-' + re.escape(key) + r'">\s*<span[^>]*>([^<]+)</span>', html)
    assert match, f"task {key} not on the page"
    return match.group(1).strip()


def make_organization(
    app, user_id: int, roles: tuple[str, ...] = ("admin",), eligibility: str = "covered_entity", **answers
) -> int:
    """An organization with `user_id` as a member holding `roles`; `answers` fill its details."""
    from cqmr_wizard.models import Membership, MembershipRole, Organization

    with app.app_context():
        org = Organization(eligibility=eligibility, created_by_id=user_id, **answers)
        db.session.add(org)
        db.session.flush()
        membership = Membership(organization_id=org.id, user_id=user_id)
        membership.role_rows.extend(MembershipRole(role=role) for role in roles)
        db.session.add(membership)
        db.session.commit()
        return org.id
