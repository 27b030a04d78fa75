"""The local CQMR for the tests (cqmr_wizard/local_cqmr): its SCIM service and relying party as a
real subprocess on a loopback port, a SCIM client over HTTP for it, and a way to sign in there.

A provider learns the CQMR's client (and its redirect URI, hence its port) when it starts, and
the wizard needs both addresses in its settings, so the ports are chosen first. `CqmrStack`
does that: a provider and a CQMR whose addresses are known before anything starts.

    stack = cqmr_stack                                     # the fixture; stopped afterwards
    live = start_live_server(app_factory, tmp_path, stack.wizard_config())
    stack.start(wizard_callbacks=[live("/sso/callback")])  # stack.idp, stack.cqmr

By hand, with a provider of your own: `cqmr = LocalCqmr(dir, port=free_port())`, start the
provider with `env=cqmr.idp_env()`, then `cqmr.start(provider)`.

The `local_cqmr` fixture is such a CQMR for the whole session, wired to a provider of its own
(`local_cqmr.idp`, which also accepts the Flask test client's callback); `start_local_cqmr`
starts more per test (`wired=False`: the SCIM service alone).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import requests
from scim2_client import BaseSyncSCIMClient, RequestNetworkException

from .helpers import free_port
from .idp import TEST_CLIENT_CALLBACK, Idp
from .processes import start_announcing, stop

__all__ = ["CqmrStack", "LocalCqmr", "RequestsSCIMClient", "cqmr_stack", "local_cqmr", "start_local_cqmr"]


class RequestsSCIMClient(BaseSyncSCIMClient):
    """scim2-client over `requests` (its own network engine needs httpx2, which is not installed)."""

    def __init__(self, base_url: str, token: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        if token is not None:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def _url(self, url: str) -> str:
        return url if urlsplit(url).scheme else f"{self.base_url}/{url.lstrip('/')}"

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = urljoin(self._url(endpoint), ".")  # resolves dot segments
        return url.startswith(self.base_url + "/") and ".." not in endpoint.split("/")

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request under the base URL."""
        try:
            return self.http.request(method, self._url(url), timeout=10, **kwargs)
        except requests.RequestException as exc:
            raise RequestNetworkException() from exc


class LocalCqmr:
    """One local CQMR process: SCIM at `scim_url` (bearer `token`), pages at `base_url`."""

    def __init__(self, workdir: Path, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = workdir / "data"
        self.host = host
        self.port = port
        self.token = secrets.token_urlsafe(24)
        self.client_id = "cqmr-local-test"
        self.client_secret = secrets.token_urlsafe(24)
        # Known before start when the port is chosen, so the wizard can be configured first.
        self.base_url = f"http://{host}:{port}" if port else ""
        self.idp: Idp | None = None
        self.process: subprocess.Popen | None = None

    @property
    def scim_url(self) -> str:
        return f"{self.base_url}/scim/v2"

    @property
    def redirect_uri(self) -> str:
        assert self.port, "a CQMR wired to a provider needs its port chosen first (free_port())"
        return f"http://{self.host}:{self.port}/callback"

    def idp_env(self) -> dict[str, str]:
        """What a provider must be started with to know this CQMR as its second client."""
        return {
            "IDP_CQMR_CLIENT_ID": self.client_id,
            "IDP_CQMR_CLIENT_SECRET": self.client_secret,
            "IDP_CQMR_REDIRECT_URIS": self.redirect_uri,
        }

    def wizard_config(self, **overrides) -> dict[str, Any]:
        """The wizard's settings for this CQMR (its "Go to CQMR" and its provisioning)."""
        return {
            "CQMR_INITIATE_LOGIN_URI": f"{self.base_url}/login",
            "CQMR_TARGET_LINK_URI": f"{self.base_url}/",
            "CQMR_SCIM_URL": self.scim_url,
            "CQMR_SCIM_TOKEN": self.token,
            **overrides,
        }

    # ---- the process ----
    def start(self, idp: Idp | None = None, *, saml_idp_metadata: str | None = None) -> LocalCqmr:
        """Start serving (SCIM only without a provider or a SAML IdP's metadata); returns once
        it listens."""
        self.idp = idp
        args = [
            sys.executable,
            "-m",
            "cqmr_wizard.local_cqmr",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        if idp is not None:
            args += ["--issuer", idp.issuer, "--client-id", self.client_id]
        if saml_idp_metadata is not None:
            args += ["--saml-idp-metadata", saml_idp_metadata]
        env = {
            **os.environ,
            "LOCAL_CQMR_SCIM_TOKEN": self.token,
            "LOCAL_CQMR_CLIENT_SECRET": self.client_secret,
        }
        self.process, self.log, self.base_url = start_announcing(
            args,
            env=env,
            log_path=self.workdir / "local_cqmr.log",
            what="the local CQMR",
            timeout=30,
            mode="a",
        )
        self.port = urlsplit(self.base_url).port
        return self

    def stop(self) -> None:
        stop(self.process, getattr(self, "log", None))

    # ---- talking to it ----
    def scim_client(self, token: str | None = None) -> RequestsSCIMClient:
        """A scim2-client for its SCIM service, with the right token unless told otherwise."""
        return RequestsSCIMClient(self.scim_url, self.token if token is None else token)

    def scim(
        self, method: str, path: str, json: dict | None = None, *, token: str | None = None
    ) -> requests.Response:
        """One raw SCIM call (path relative to /scim/v2)."""
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        if json is not None:
            headers["Content-Type"] = "application/scim+json"
        return requests.request(
            method, f"{self.scim_url}/{path.lstrip('/')}", json=json, headers=headers, timeout=10
        )

    def sign_in(
        self,
        account: dict,
        *,
        http: requests.Session | None = None,
        iss: str | None = None,
        target_link_uri: str | None = None,
    ) -> requests.Response:
        """Third-party-initiated login as the wizard starts it, through the provider's pages;
        returns the page the person ends on."""
        assert self.idp is not None, "start the CQMR wired to a provider"
        http = http or requests.Session()
        params = {
            "iss": iss or self.idp.issuer,
            "login_hint": account["sub"],
            "target_link_uri": target_link_uri or f"{self.base_url}/",
        }
        response = http.get(f"{self.base_url}/login?{urlencode(params)}", allow_redirects=False, timeout=10)
        if not response.is_redirect:
            return response
        callback = self.idp.authorize(response.headers["Location"], account, http=http)
        return http.get(callback, timeout=10)


class CqmrStack:
    """A provider (`idp`) and a local CQMR (`cqmr`) on ports chosen before either starts."""

    def __init__(self, workdir: Path) -> None:
        self.cqmr = LocalCqmr(workdir / "cqmr", port=free_port())
        self.idp = Idp(workdir / "idp", redirect_uris=[], env=self.cqmr.idp_env())
        self.idp_port = free_port()
        self.issuer = f"http://127.0.0.1:{self.idp_port}"

    def wizard_config(self, **overrides) -> dict[str, Any]:
        """The wizard's single sign-on, "Go to CQMR" and provisioning settings for this stack."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": self.idp.client_id,
            "OIDC_CLIENT_SECRET": self.idp.client_secret,
            **self.cqmr.wizard_config(**overrides),
        }

    def start(self, wizard_callbacks: list[str]) -> CqmrStack:
        """Start the provider (accepting the wizard's callbacks), then the CQMR wired to it."""
        self.idp.redirect_uris = wizard_callbacks
        self.idp.start(port=self.idp_port)
        assert self.idp.issuer == self.issuer
        self.cqmr.start(self.idp)
        return self

    def stop(self) -> None:
        self.cqmr.stop()
        self.idp.stop()


@pytest.fixture(scope="session")
def local_cqmr(tmp_path_factory) -> Iterator[LocalCqmr]:
    """A local CQMR for the session, wired to a provider of its own (`local_cqmr.idp`)."""
    stack = CqmrStack(tmp_path_factory.mktemp("local_cqmr"))
    try:
        yield stack.start([TEST_CLIENT_CALLBACK]).cqmr
    finally:
        stack.stop()


@pytest.fixture
def cqmr_stack(tmp_path) -> Iterator[CqmrStack]:
    """A provider and a local CQMR to start once the wizard's address is known; stopped afterwards."""
    stack = CqmrStack(tmp_path / "cqmr_stack")
    yield stack
    stack.stop()


@pytest.fixture
def start_local_cqmr(tmp_path):
    """Start CQMRs of a test's own, each with its own provider unless `wired=False` (SCIM only);
    `idp_redirect_uris` are the wizard's callbacks that provider accepts. Stopped afterwards."""
    started: list[Any] = []

    def start(*, wired: bool = True, idp_redirect_uris: list[str] | None = None) -> LocalCqmr:
        workdir = tmp_path / f"local_cqmr{len(started)}"
        cqmr = LocalCqmr(workdir / "cqmr", port=free_port())
        provider = None
        if wired:
            provider = Idp(
                workdir / "idp", redirect_uris=idp_redirect_uris or [TEST_CLIENT_CALLBACK], env=cqmr.idp_env()
            )
            started.append(provider)
            provider.start()
        started.append(cqmr)
        return cqmr.start(provider)

    yield start
    for process in reversed(started):
        process.stop()
