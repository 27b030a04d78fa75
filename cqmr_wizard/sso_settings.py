"""The settings of OneHealthPort single sign-on, over OpenID Connect or SAML 2.0: their code
defaults and which the environment may set (settings.py folds them into its layers)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

SSO_DEFAULTS: dict[str, Any] = {
    # OneHealthPort single sign-on over OpenID Connect ("oidc") or SAML 2.0 ("saml").
    "SSO_PROTOCOL": "oidc",
    # OpenID Connect: unset OIDC_ISSUER turns SSO off.
    "OIDC_ISSUER": None,
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    # A PEM private key: authenticate at the token endpoint with private_key_jwt (RFC 7523)
    # when the provider supports it; its public key is registered with the provider.
    "OIDC_CLIENT_KEY": None,
    "OIDC_SCOPES": "openid email profile ohp",
    "OIDC_METADATA_URL": None,  # default: OIDC_ISSUER + /.well-known/openid-configuration
    "OIDC_ID_TOKEN_ALGS": ["RS256", "PS256", "ES256"],
    "OIDC_CLOCK_LEEWAY": 60,  # seconds of clock skew tolerated on ID token times
    "OIDC_TIMEOUT": 10,  # seconds for each call to the provider
    "OIDC_FLOW_TTL": timedelta(minutes=15),  # how long a started sign-in may take
    # SAML 2.0: unset SAML_IDP_METADATA turns SSO off. The IdP's metadata (a file or an https
    # address, read at start) and its signing certificate pinned by file or SHA-256 fingerprint.
    "SAML_IDP_METADATA": None,
    "SAML_IDP_CERT_FILE": None,
    "SAML_IDP_CERT_FINGERPRINT": None,
    # This service's signing and encryption key pair; generated into instance/ when unset.
    "SAML_SP_KEY_FILE": None,
    "SAML_SP_CERT_FILE": None,
    # IdP attribute name (Name or FriendlyName) → field of the verified identity.
    "SAML_ATTRIBUTE_MAP": {
        "mail": "email",
        "urn:oid:0.9.2342.19200300.100.1.3": "email",
        "email": "email",
        "displayName": "name",
        "urn:oid:2.16.840.1.113730.3.1.241": "name",
        "ohpOrgId": "ohp_org_id",
        "ohpOrgName": "ohp_org_name",
    },
    "SAML_CLOCK_SKEW": 60,  # seconds of clock skew tolerated on assertion times
    "SAML_FLOW_TTL": timedelta(minutes=15),  # how long a started sign-in may take
    "OHP_REGISTRATION_URL": "https://www.onehealthport.com/",
}

SSO_ENV_SETTINGS: dict[str, Any] = {
    "SSO_PROTOCOL": str,
    "OIDC_ISSUER": str,
    "OIDC_CLIENT_ID": str,
    "OIDC_CLIENT_SECRET": str,
    "OIDC_CLIENT_KEY": str,
    "OIDC_SCOPES": str,
    "OIDC_METADATA_URL": str,
    "SAML_IDP_METADATA": str,
    "SAML_IDP_CERT_FILE": str,
    "SAML_IDP_CERT_FINGERPRINT": str,
    "SAML_SP_KEY_FILE": str,
    "SAML_SP_CERT_FILE": str,
    "SAML_ATTRIBUTE_MAP": json.loads,
    "OHP_REGISTRATION_URL": str,
}
