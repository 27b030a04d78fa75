"""The SCIM 2.0 service of the local CQMR: scim2-server's WSGI application over a file storage,
refusing every request without the configured bearer token."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any

from scim2_models import Resource, ScimProvider, UnauthorizedException
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from .storage import FileStorage

STORE_FILE = "scim-resources.json"


class TokenApplication(BearerTokenApplication):
    """scim2-server's bearer-token application, comparing the token in constant time."""

    def check_auth(self, request: ScimRequest) -> None:
        """Refuse a request without the bearer token (401 with WWW-Authenticate)."""
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not any(
            hmac.compare_digest(token.encode(), known.encode()) for known in self.bearer_tokens
        ):
            raise UnauthorizedException


def build_scim_app(data_dir: Path, token: str) -> TokenApplication:
    """Return the WSGI SCIM service (RFC 7643 User, enterprise extension and Group) for one token."""
    if not token:
        raise ValueError("the SCIM service needs a bearer token")
    config = load_default_service_provider_config()
    # Announcing the scheme makes every 401 carry a WWW-Authenticate header.
    config.authentication_schemes = [BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))

    def model_for(name: str) -> type[Resource[Any]]:
        return service.get_model(service.get_resource_type(name))

    storage = FileStorage(data_dir / STORE_FILE, model_for)
    return TokenApplication(storage, provider, service=service, bearer_tokens=[token])
