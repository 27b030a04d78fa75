"""The SCIM 2.0 service of the local CQMR: scim2-server's WSGI application over a file storage,
refusing every request without the configured bearer token."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from scim2_models import Resource, ScimProvider
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

from .storage import FileStorage

STORE_FILE = "scim-resources.json"


def build_scim_app(data_dir: Path, token: str) -> BearerTokenApplication:
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
    return BearerTokenApplication(storage, provider, service=service, bearer_tokens=[token])
