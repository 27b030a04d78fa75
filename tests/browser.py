"""Browser fixtures: the app under gunicorn on a free loopback port, driven by Playwright
in Debian's Chromium. Screenshots of failing journeys go to test-artifacts/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from .helpers import CLOCK, free_port
from .idp import Idp

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Settings the live server takes from the test app; everything else is the app's own.
PASSED_SETTINGS = (
    "CQMR_ENV",
    "SECRET_KEY",
    "MFA_ENCRYPTION_KEYS",
    "AUDIT_HMAC_KEYS",
    "AUDIT_CHECKPOINT_FILE",
    "OUTBOX_DELIVERY",
    "DATABASE_URL",
    "SQLALCHEMY_ENGINE_OPTIONS",
    "ARGON2_TIME_COST",
    "ARGON2_MEMORY_COST",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_OUTBOX",
    "SESSION_COOKIE_SECURE",
    "HSTS",
    "WTF_CSRF_SSL_STRICT",
)


class LiveServer:
    def __init__(self, url: str, app, process: subprocess.Popen, log: Path) -> None:
        self.url = url
        self.app = app
        self.process = process
        self.log = log

    def __call__(self, path: str = "/") -> str:
        return self.url + path


@pytest.fixture
def live_server(app_factory, tmp_path):
    """Start gunicorn serving wsgi:app on the test database; `live_server.app` shares it."""
    return _start_live_server(app_factory, tmp_path, {})


def start_live_server(app_factory, tmp_path, extra: dict, port: int | None = None) -> LiveServer:
    """Start a live server with extra configuration (for tests that need an IdP, say), on
    `port` when the IdP had to be told it first."""
    return _start_live_server(app_factory, tmp_path, extra, port)


_servers: list[LiveServer] = []


def _start_live_server(app_factory, tmp_path, extra: dict, port: int | None = None) -> LiveServer:
    CLOCK.real_time_only = True  # gunicorn reads the computer's clock
    app = app_factory(**extra)
    port = port or free_port()
    instance = tmp_path / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    settings = {k: app.config[k] for k in PASSED_SETTINGS if k in app.config}
    settings.update(extra)
    (instance / "config.py").write_text("".join(f"{key} = {value!r}\n" for key, value in settings.items()))
    log = tmp_path / "gunicorn.log"
    env = {**os.environ, "CQMR_INSTANCE_PATH": str(instance)}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--graceful-timeout",
            "2",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"live server did not start:\n{log.read_text()}")
        time.sleep(0.2)
    server = LiveServer(url, app, process, log)
    _servers.append(server)
    return server


@pytest.fixture(autouse=True)
def _stop_live_servers():
    yield
    while _servers:
        server = _servers.pop()
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, request):
    """A fresh browser context and page; a screenshot is saved if the test fails."""
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            (ARTIFACTS / f"{name}.html").write_text(page.content())
        except Exception as error:  # the page may be gone; the failure itself matters more
            print(f"could not save screenshot: {error}")
    context.close()


def choose(page, label: str) -> None:
    """Pick a USWDS radio button or checkbox by clicking its label, as a person does
    (the native input is visually hidden behind the styled label)."""
    page.locator("label", has_text=label).filter(has_text=label).first.click()
    assert page.get_by_label(label, exact=True).is_checked()


def start_with_provider(app_factory, tmp_path, config: dict | None = None, cqmr=None):
    """The wizard on a live server beside a local OpenID provider (and the local CQMR stand-in,
    when given, as a relying party of it), each told the other's address: (live, provider).
    The caller stops the provider and the CQMR."""
    idp_port = free_port()
    provider = Idp(tmp_path / "idp", redirect_uris=[], env=cqmr.idp_env() if cqmr else None)
    issuer = f"http://127.0.0.1:{idp_port}"
    live = start_live_server(
        app_factory,
        tmp_path,
        {
            "OIDC_ISSUER": issuer,
            "OIDC_CLIENT_ID": provider.client_id,
            "OIDC_CLIENT_SECRET": provider.client_secret,
            **(cqmr.wizard_config() if cqmr else {}),
            **(config or {}),
        },
    )
    provider.redirect_uris = [live("/sso/callback")]
    provider.start(port=idp_port)
    if cqmr is not None:
        cqmr.start(provider)
    return live, provider


def confirm_recovery_codes_in(page) -> None:
    """On the recovery-code page: give back the code it asks for, by its number, to show they
    were saved; the task list follows."""
    from playwright.sync_api import expect  # like the fixtures: only journeys load Playwright

    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    asked = page.locator('label[for="recovery_code"]').text_content()
    position = int(re.search(r"Recovery code (\d+)", asked).group(1))
    code = page.get_by_label("Your recovery codes").locator("li").nth(position - 1).text_content()
    page.locator("#recovery_code").fill(code.strip())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/tasks$"))


def sign_user_agreements_in(page, full_name: str) -> None:
    """From the task list: consent once, then read and click-sign each user agreement."""
    from playwright.sync_api import expect  # like the fixtures: only journeys load Playwright

    page.get_by_role("link", name="Sign your user agreements").click()
    for _ in range(2):
        page.get_by_role("link", name=re.compile("^Read and sign")).first.click()
        page.wait_for_url(re.compile(r"/agreements/(consent|yours/[a-z-]+)"))
        if "/agreements/consent" in page.url:
            page.locator('label[for="consent"]').click()
            page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="I have read it: continue to sign").click()
        page.locator("#full_name").fill(full_name)
        page.locator('label[for="agree"]').click()
        page.get_by_role("button", name="Sign the agreement").click()
        page.get_by_role("link", name="Continue").click()
    page.get_by_role("link", name="Your tasks").first.click()
    expect(page.locator("#status-user_agreements")).to_have_text("Completed")
