"""Helpers that let tests speak HTTP as a user would."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from sqlalchemy import func, select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import TotpCredential, User

PASSWORD = "correct horse battery staple 42"


class Clock:
    """The time the application reads (conftest's `clock` fixture installs it): the computer's
    time plus an offset the tests move forward instead of sleeping. A server in another
    process (the browser tests' gunicorn) reads the computer's time: then moving on waits."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.real_time_only = False

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def advance(self, seconds: float) -> None:
        if self.real_time_only:
            time.sleep(seconds)
        else:
            self.offset += timedelta(seconds=seconds)

    def to_next_step(self) -> None:
        """Move to the start of the next 30-second TOTP step."""
        self.advance(30.5 - self.timestamp() % 30)


CLOCK = Clock()


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


@dataclass
class Form:
    """A form as the page renders it: where it posts, its hidden values, every field's name."""

    action: str
    method: str
    hidden: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)


class _FormReader(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, attributes.get("action") or self.page_url)
            self._open = Form(action, attributes.get("method", "get").lower())
            self.forms.append(self._open)
        elif self._open is not None and tag in ("input", "select", "textarea", "button"):
            name = attributes.get("name")
            if not name:
                return
            self._open.names.add(name)
            if tag == "input" and attributes.get("type") == "hidden":
                self._open.hidden[name] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_on(response, page_url: str) -> list[Form]:
    """The forms of a page, read from its HTML."""
    reader = _FormReader(page_url)
    reader.feed(response.get_data(as_text=True))
    return reader.forms


def submit(client, url: str, data: dict | None = None, *, page: str | None = None, **kwargs):
    """GET the page holding the form (or `page`), find the form that posts to `url`, and send
    its hidden inputs with `data`, as a browser would. Every field in `data` must be one the form
    has: a renamed or removed field fails the test."""
    page_url = page or url
    form_page = client.get(page_url)
    assert form_page.status_code == 200, (form_page.status_code, page_url)
    data = dict(data or {})
    target = urlsplit(urljoin(page_url, url)).path
    forms = [f for f in forms_on(form_page, page_url) if f.method == "post"]
    matching = [f for f in forms if urlsplit(f.action).path == target]
    assert matching, f"{page_url} has no form that posts to {url}"
    form = next((f for f in matching if set(data) <= f.names), None)
    assert form is not None, f"the form posting to {url} has no field {sorted(set(data) - matching[0].names)}"
    action = urlsplit(form.action)
    return client.post(
        action.path + (f"?{action.query}" if action.query else ""), data={**form.hidden, **data}, **kwargs
    )


def forge(client, url: str, data: dict | None = None, *, page: str, **kwargs):
    """POST `data` to `url` with this session's CSRF token from `page`, which has no such form:
    the request an attacker or a stale page would send, not one the site offers."""
    token = csrf_from(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def totp_now(secret: str, at: float | None = None) -> str:
    """The code oathtool, an independent RFC 6238 implementation, gives at the app's time now
    (or at unix time `at`)."""
    at = CLOCK.timestamp() if at is None else at
    result = subprocess.run(
        ["oathtool", "--totp", "-b", "-N", f"@{int(at)}", secret], check=True, capture_output=True, text=True
    )
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
    """A code for `secret` the server has not accepted yet: this time step's, or, when that one
    was used, the next step's once the clock has moved on to it (as a person would wait)."""
    last = next((step for _, known, step in _credentials(app, email) if known == secret), None)
    if last is not None and last >= int(CLOCK.timestamp()) // 30:
        CLOCK.to_next_step()
    return totp_now(secret)


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
