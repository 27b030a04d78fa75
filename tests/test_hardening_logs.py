"""Issue 15, item 4: no token from a mailed link reaches the app's or gunicorn's log (its JSON
lines, issue 23)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from .browser import PASSED_SETTINGS, ROOT
from .helpers import PASSWORD, csrf_from, free_port, link_from


def start_gunicorn(app, tmp_path: Path) -> tuple[subprocess.Popen, str, Path]:
    """gunicorn as `make run` and the README start it (the package's gunicorn config)."""
    instance = tmp_path / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    settings = {k: app.config[k] for k in PASSED_SETTINGS if k in app.config}
    (instance / "config.py").write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    log = tmp_path / "server.log"
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        + ["-c", "python:cqmr_wizard.gunicorn_conf", "wsgi:app"],
        cwd=ROOT,
        env={**os.environ, "CQMR_INSTANCE_PATH": str(instance)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url, log
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text())


def post_form(http: requests.Session, url: str, data: dict) -> requests.Response:
    token = csrf_from(http.get(url).text)
    return http.post(url, data={"csrf_token": token, **data}, allow_redirects=False)


def test_tokens_of_mailed_links_are_redacted_in_the_server_log(app, tmp_path, mailbox):
    process, url, log = start_gunicorn(app, tmp_path)
    try:
        http = requests.Session()
        email = "lee@example.org"
        post_form(http, url + "/sign-up", {"full_name": "Lee Park", "email": email, "password": PASSWORD})
        verify = link_from(mailbox.last_to(email), "/verify-email/")
        confirmed = http.get(url + verify, allow_redirects=False)
        assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/sign-in")
        post_form(http, url + "/reset-password", {"email": email})
        reset = link_from(mailbox.last_to(email), "/reset-password/")
        assert http.get(url + reset).status_code == 200
        assert http.get(url + "/invitations/not-a-real-invitation-token-abc").status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = log.read_text()
    secrets = [verify.rsplit("/", 1)[1], reset.rsplit("/", 1)[1], "not-a-real-invitation-token-abc"]
    assert [s for s in secrets if s in text] == []
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests_logged = {
        (line["method"], line["path"]) for line in lines if line["logger"] == "cqmr_wizard.request"
    }
    assert {
        ("GET", "/verify-email/[redacted]"),
        ("GET", "/reset-password/[redacted]"),
        ("GET", "/invitations/[redacted]"),
    } <= requests_logged
    # One line per request: gunicorn writes no access log beside the app's.
    assert [line for line in text.splitlines() if "GET /" in line and not line.startswith("{")] == []
