"""OneHealthPort over SAML 2.0: the service provider's metadata, and connecting an organization
then signing in, through HTTP against an IdP that signs with xmlsec1 (pysaml2's IdP side)."""

from __future__ import annotations

from pathlib import Path

import pytest
import saml2.data.schemas
import xmlschema
from defusedxml import ElementTree as etree

from cqmr_wizard.extensions import db
from cqmr_wizard.gate.services import destination
from cqmr_wizard.models import User

from .helpers import page_text, task_status
from .saml_idp import ACS_URL, ENTITY_ID, SP_ENTITY_ID, saml_idp, shifted  # noqa: F401
from .sso_support import audit_events, identities, organization, query, signed_in_admin, start

ORG = {"ohpOrgId": "OHP-SAML-1", "ohpOrgName": "Cascade Clinic", "mail": "alice@cascade.example.org"}
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"


@pytest.fixture
def app(app_factory, saml_idp):  # noqa: F811
    return app_factory(**saml_idp.app_config())


def post_answer(client, answer: str):
    """The IdP's HTTP-POST to the ACS, then the redirect that brings the browser's session."""
    posted = client.post("/sso/saml/acs", data={"SAMLResponse": answer})
    assert posted.status_code == 303 and posted.location.startswith("/sso/saml/acs/"), posted.status_code
    return client.get(posted.location)


def test_the_metadata_is_signed_names_both_certificates_and_the_acs_and_is_schema_valid(app):
    response = app.test_client().get("/sso/saml/metadata")
    assert response.status_code == 200 and response.mimetype == "application/samlmetadata+xml"
    root = etree.fromstring(response.data)
    assert root.get("entityID") == SP_ENTITY_ID
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp.get("AuthnRequestsSigned") == "true"
    assert {k.get("use") for k in sp.findall(f"{MD}KeyDescriptor")} == {"signing", "encryption"}
    acs = sp.find(f"{MD}AssertionConsumerService")
    assert acs.get("Location") == ACS_URL
    assert acs.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    assert root.find(f"{DS}Signature") is not None
    metadata_schema().validate(response.data.decode())


def metadata_schema() -> xmlschema.XMLSchema:
    """The SAML 2.0 metadata schema pysaml2 ships, its imports resolved locally (no network)."""
    folder = Path(saml2.data.schemas.__file__).parent
    locations = {
        "http://www.w3.org/XML/1998/namespace": "xml.xsd",
        "http://www.w3.org/2001/04/xmlenc#": "xenc-schema.xsd",
        "http://www.w3.org/2000/09/xmldsig#": "xmldsig-core-schema.xsd",
        "urn:oasis:names:tc:SAML:2.0:assertion": "saml-schema-assertion-2.0.xsd",
        "urn:oasis:names:tc:SAML:2.0:metadata": "saml-schema-metadata-2.0.xsd",
    }
    source = str(folder / "saml-schema-metadata-2.0.xsd")
    return xmlschema.XMLSchema(
        source,
        locations={ns: str(folder / name) for ns, name in locations.items()},
        base_url=source,
        allow="sandbox",
        use_fallback=False,
        validation="strict",
    )


def test_no_metadata_nor_acs_when_the_protocol_is_openid_connect(app_factory):
    client = app_factory().test_client()
    assert client.get("/sso/saml/metadata").status_code == 404
    assert client.post("/sso/saml/acs", data={"SAMLResponse": "x"}).status_code == 404


def test_connect_the_organization_then_sign_in_with_saml(app, saml_idp):  # noqa: F811
    client, user_id, org_id = signed_in_admin(app)
    location = start(client)
    assert location.startswith("https://idp.onehealthport.test/saml/sso?SAMLRequest=")
    with client.session_transaction() as session:
        request_id = session["sso_flow"]["request_id"]
    assert saml_idp.request(client, location).id == request_id
    answer = saml_idp.answer(client, location, "ohp-persistent-123", {**ORG, "displayName": "Alice Admin"})
    response = post_answer(client, answer)
    assert response.status_code == 302 and response.location == "/tasks"
    tasks = client.get("/tasks")
    assert task_status(tasks, "onehealthport") == "Completed"
    assert "connected to OneHealthPort as “Cascade Clinic”" in page_text(tasks)
    org = organization(app, org_id)
    assert (org.ohp_org_id, org.ohp_org_name) == ("OHP-SAML-1", "Cascade Clinic")
    assert identities(app) == [(user_id, ENTITY_ID, "ohp-persistent-123")]

    visitor = app.test_client()
    location = start(visitor, "/sign-in/onehealthport", page="/sign-in")
    signed_in = post_answer(visitor, saml_idp.encrypted_answer(visitor, location, "ohp-persistent-123", ORG))
    assert signed_in.status_code == 302 and signed_in.location == "/tasks"
    assert audit_events(app, "auth.signed_in")[-1]["method"] == "saml"
    # The password is replaced; the second factor is not.
    assert "two-step" in visitor.get("/tasks").location


def test_disconnecting_asks_the_idp_for_a_fresh_login(app, saml_idp):  # noqa: F811
    client, _, _ = signed_in_admin(app)
    assert (
        post_answer(client, saml_idp.answer(client, start(client), "ohp-persistent-9", ORG)).status_code
        == 302
    )
    page = "/onehealthport/disconnect"
    location = start(client, "/onehealthport/disconnect/confirm-with-onehealthport", page=page)
    assert saml_idp.request(client, location).force_authn == "true"

    def stale(response):
        response.assertion[0].authn_statement[0].authn_instant = shifted(-30)

    # An IdP that ignored ForceAuthn (an old AuthnInstant) does not disconnect anything.
    kept = post_answer(client, saml_idp.answer(client, location, "ohp-persistent-9", ORG, edit=stale))
    assert kept.status_code == 401 and len(identities(app)) == 1
    assert audit_events(app, "sso.refused")[-1]["reason"] == "reauth_not_fresh"

    location = start(client, "/onehealthport/disconnect/confirm-with-onehealthport", page=page)
    response = post_answer(client, saml_idp.answer(client, location, "ohp-persistent-9", ORG))
    assert response.status_code == 302 and response.location == "/onehealthport"
    assert identities(app) == []


def test_go_to_cqmr_names_the_idp_and_the_persons_own_nameid(app_factory, saml_idp):  # noqa: F811
    app = app_factory(**saml_idp.app_config(CQMR_INITIATE_LOGIN_URI="https://cqmr.example.org/login"))
    client, user_id, _ = signed_in_admin(app)
    assert (
        post_answer(client, saml_idp.answer(client, start(client), "ohp-persistent-7", ORG)).status_code
        == 302
    )
    with app.test_request_context():
        url = destination(db.session.get(User, user_id))
    assert url.startswith("https://cqmr.example.org/login?")
    assert query(url) == {"iss": ENTITY_ID, "login_hint": "ohp-persistent-7"}
