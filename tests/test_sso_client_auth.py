"""The wizard authenticates at the provider's token endpoint the way the provider offers:
client_secret_basic, client_secret_post, or private_key_jwt when a key is configured."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from cqmr_wizard.sso.oidc import token_auth_method

from .helpers import page_text, submit
from .sso_support import connect, identities, signed_in_admin


@pytest.mark.parametrize(
    "supported, has_key, chosen",
    [
        (None, False, "client_secret_basic"),  # RFC 8414: the default when none is named
        (["client_secret_basic", "client_secret_post"], False, "client_secret_basic"),
        (["client_secret_post"], False, "client_secret_post"),
        (["client_secret_post", "private_key_jwt"], False, "client_secret_post"),
        (["client_secret_basic", "private_key_jwt"], True, "private_key_jwt"),
        (["client_secret_basic"], True, "client_secret_basic"),
        (["private_key_jwt"], False, None),
        (["tls_client_auth"], True, None),
    ],
)
def test_the_method_is_chosen_from_what_the_provider_supports(supported, has_key, chosen):
    assert token_auth_method(supported, has_key) == chosen


def account(provider) -> dict:
    return provider.add_account(organization=provider.add_organization())


def test_client_secret_post_when_that_is_all_the_provider_offers(app_factory, start_idp):
    provider = start_idp(env={"IDP_CLIENT_AUTH_METHOD": "client_secret_post"})
    app = app_factory(**provider.app_config())
    client, user_id, _ = signed_in_admin(app)
    assert connect(client, provider, account(provider)).status_code == 302
    assert [i[0] for i in identities(app)] == [user_id]


def test_private_key_jwt_with_a_configured_key(app_factory, start_idp):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = RSAKey.import_key(pem).as_dict(private=False)
    provider = start_idp(
        env={"IDP_CLIENT_AUTH_METHOD": "private_key_jwt", "IDP_CLIENT_JWKS": json.dumps({"keys": [public]})}
    )
    app = app_factory(**provider.app_config(OIDC_CLIENT_KEY=pem))
    client, user_id, _ = signed_in_admin(app)
    assert connect(client, provider, account(provider)).status_code == 302
    assert [i[0] for i in identities(app)] == [user_id]


def test_a_provider_with_no_method_in_common_is_refused(app_factory, start_idp):
    provider = start_idp(env={"IDP_CLIENT_AUTH_METHOD": "private_key_jwt"})
    app = app_factory(**provider.app_config())
    client, _, _ = signed_in_admin(app)

    response = submit(client, "/onehealthport/start", {}, page="/onehealthport")
    assert response.status_code == 502 and "cannot use" in page_text(response)
