"""A scim2-client over `requests` for the CQMR's SCIM service (scim2-client's own network
engine needs httpx2, which this project does not use)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from flask import current_app
from scim2_client import BaseSyncSCIMClient, RequestNetworkException


class RequestsSCIMClient(BaseSyncSCIMClient):
    """Sends scim2-client's requests under `base_url` with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def _url(self, url: str) -> str:
        return url if urlsplit(url).scheme else f"{self.base_url}/{url.lstrip('/')}"

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url = urljoin(self._url(endpoint), ".")
        return url.startswith(self.base_url + "/") and ".." not in endpoint.split("/")

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send one request under the base URL."""
        try:
            return self.http.request(method, self._url(url), timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            error = RequestNetworkException()
            error.add_note(str(exc))
            raise error from exc


def cqmr_client() -> RequestsSCIMClient:
    """A client for the configured CQMR, having read its schemas and resource types."""
    config = current_app.config
    client = RequestsSCIMClient(
        config["CQMR_SCIM_URL"], config["CQMR_SCIM_TOKEN"], config["CQMR_SCIM_TIMEOUT"]
    )
    client.discover()
    return client


def describe(error: BaseException) -> str:
    """A one-line reason an operator can read."""
    notes = "; ".join(getattr(error, "__notes__", []))
    text = str(error) or notes or "no detail"
    if notes and notes not in text:
        text = f"{text} ({notes})"
    # scim2-models' errors carry the HTTP status the CQMR answered (401: a wrong token).
    status = getattr(error, "status", None)
    answered = f" (HTTP {status})" if isinstance(status, int) else ""
    return f"{type(error).__name__}{answered}: {text}"[:1000]
