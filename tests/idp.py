"""A real OpenID Connect provider for the tests: the npm `oidc-provider` stand-in for
OneHealthPort (cqmr_wizard/dev_idp/server.mjs), started on a free loopback port, and a way to
sign in through its login and consent pages over plain HTTP."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from .processes import ROOT, start_announcing, stop

SERVER = ROOT / "cqmr_wizard" / "dev_idp" / "server.mjs"
# The Flask test client's callback (SERVER_NAME "localhost" in the test config).
TEST_CLIENT_CALLBACK = "http://localhost/sso/callback"

__all__ = ["Idp", "IdpLoginFailed", "idp", "start_idp", "TEST_CLIENT_CALLBACK"]


class IdpLoginFailed(AssertionError):
    """The provider's login page refused the username or password."""


class Idp:
    """One provider process: its issuer, its one client, and an accounts file it re-reads."""

    def __init__(
        self,
        workdir: Path,
        *,
        redirect_uris: list[str],
        env: dict[str, str] | None = None,
        client_id: str = "cqmr-wizard-test",
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.accounts_path = workdir / "accounts.json"
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(24)
        self.redirect_uris = redirect_uris
        self.env = env or {}
        self.directory: dict[str, list] = {"organizations": [], "accounts": []}
        self.issuer = ""
        self.process: subprocess.Popen | None = None
        self._write()

    # ---- the accounts file ----
    def _write(self) -> None:
        tmp = self.accounts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.directory))
        tmp.replace(self.accounts_path)  # atomic, so the provider never reads half a file

    def add_organization(self, org_id: str | None = None, name: str = "Test Clinic") -> str:
        org_id = org_id or f"OHP-ORG-{secrets.token_hex(4)}"
        self.directory["organizations"].append({"id": org_id, "name": name})
        self._write()
        return org_id

    def add_account(
        self,
        *,
        organization: str | None = None,
        sub: str | None = None,
        name: str = "Pat Example",
        email: str | None = None,
    ) -> dict:
        """Add a person; returns their account (username, password, sub, ...)."""
        tag = secrets.token_hex(4)
        account = {
            "username": f"user-{tag}@ohp.example",
            "password": f"pw-{secrets.token_hex(8)}",
            "sub": sub or f"ohp-{tag}",
            "email": email or f"user-{tag}@ohp.example",
            "email_verified": True,
            "name": name,
            "organization": organization,
        }
        self.directory["accounts"].append(account)
        self._write()
        return account

    # ---- the process ----
    def start(self, port: int = 0) -> Idp:
        env = {
            **os.environ,
            "IDP_CLIENT_ID": self.client_id,
            "IDP_CLIENT_SECRET": self.client_secret,
            "IDP_REDIRECT_URIS": ",".join(self.redirect_uris),
            "IDP_ACCOUNTS": str(self.accounts_path),
            **self.env,
        }
        self.process, self.log, self.issuer = start_announcing(
            ["node", str(SERVER), "--port", str(port)],
            env=env,
            log_path=self.workdir / "idp.log",
            what="the OIDC provider",
            timeout=20,
        )
        return self

    def stop(self) -> None:
        stop(self.process, getattr(self, "log", None))

    def app_config(self, **overrides) -> dict:
        """The wizard's settings for this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.client_id,
            "OIDC_CLIENT_SECRET": self.client_secret,
            **overrides,
        }

    # ---- signing in through the provider's pages ----
    def authorize(
        self,
        url: str,
        account: dict | None = None,
        *,
        decision: str = "allow",
        http: requests.Session | None = None,
        cancel: bool = False,
    ) -> str:
        """Follow an authorization request through login and consent; return the address the
        provider sends the browser back to (the wizard's callback, with code or error)."""
        http = http or requests.Session()
        response = http.get(url, allow_redirects=False, timeout=10)
        logged_in = False
        for _ in range(12):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if not target.startswith(self.issuer + "/"):
                    return target
                response = http.get(target, allow_redirects=False, timeout=10)
                continue
            html = response.text
            form = re.search(r'<form method="post" action="([^"]+)"', html)
            if form is None:
                raise AssertionError(f"unexpected provider page {response.status_code}: {html[:800]}")
            action = urljoin(self.issuer, unescape(form.group(1)))
            if action.endswith("/login"):
                if logged_in:
                    raise IdpLoginFailed(html[:500])
                if cancel:
                    abort = re.search(r'href="(/interaction/[^"]+/abort)"', html).group(1)
                    response = http.get(urljoin(self.issuer, abort), allow_redirects=False, timeout=10)
                    continue
                assert account is not None, "the provider asks for a login"
                logged_in = True
                response = http.post(
                    action,
                    data={"username": account["username"], "password": account["password"]},
                    allow_redirects=False,
                    timeout=10,
                )
            elif action.endswith("/confirm"):
                response = http.post(action, data={"decision": decision}, allow_redirects=False, timeout=10)
            else:
                raise AssertionError(f"unexpected form {action}")
        raise AssertionError("the provider did not send the browser back")


@pytest.fixture(scope="session")
def idp(tmp_path_factory) -> Iterator[Idp]:
    """The shared provider for the Flask test client; tests add their own accounts."""
    provider = Idp(tmp_path_factory.mktemp("idp"), redirect_uris=[TEST_CLIENT_CALLBACK]).start()
    yield provider
    provider.stop()


@pytest.fixture
def start_idp(tmp_path):
    """Start providers of a test's own (other settings, a second issuer); stopped afterwards."""
    started: list[Idp] = []

    def start(
        *,
        redirect_uris: list[str] | None = None,
        env: dict[str, str] | None = None,
        client_id: str = "cqmr-wizard-test",
    ) -> Idp:
        provider = Idp(
            tmp_path / f"idp{len(started)}",
            redirect_uris=redirect_uris or [TEST_CLIENT_CALLBACK],
            env=env,
            client_id=client_id,
        )
        started.append(provider)
        return provider.start()

    yield start
    for provider in started:
        provider.stop()
