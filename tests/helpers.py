"""Helpers that let tests speak HTTP as a user would."""

from __future__ import annotations

import re
import socket
from html import unescape

from cqmr_wizard.auth.passwords import hash_password
from cqmr_wizard.extensions import db
from cqmr_wizard.models import User
from cqmr_wizard.models.base import utcnow

PASSWORD = "correct horse battery staple 42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
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


def make_user(app, email: str = "pat@example.org", *, full_name: str = "Pat Example",
              password: str = PASSWORD, verified: bool = True) -> int:
    with app.app_context():
        user = User(email=email, full_name=full_name, password_hash=hash_password(password),
                    email_verified_at=utcnow() if verified else None)
        db.session.add(user)
        db.session.commit()
        return user.id


def sign_in(client, email: str = "pat@example.org", password: str = PASSWORD):
    return submit(client, "/sign-in", {"email": email, "password": password})


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
