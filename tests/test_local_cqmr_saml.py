"""The local CQMR as a SAML service provider: the login the wizard initiates signs in only the
person the wizard named (`login_hint`, their persistent NameID), and only when provisioned."""

from __future__ import annotations

import re

import pytest

from cqmr_wizard.local_cqmr.app import Settings, create_app

from .saml_idp import ENTITY_ID, Sp, saml_idp  # noqa: F401
from .test_local_cqmr import USER

TOKEN = "local-cqmr-test-token"
CQMR = Sp("http://localhost/saml/metadata", "http://localhost/saml/acs", "/saml/metadata")


@pytest.fixture
def cqmr(tmp_path, saml_idp):  # noqa: F811
    app = create_app(
        Settings(
            public_url="http://localhost",
            data_dir=tmp_path / "cqmr",
            scim_token=TOKEN,
            saml_idp_metadata=str(saml_idp.metadata_file),
        )
    )
    client = app.test_client()
    created = client.post(
        "/scim/v2/Users",
        json={
            "schemas": [USER],
            "userName": "ohp-pat",
            "active": True,
            "name": {"givenName": "Pat", "familyName": "Alvarez"},
        },
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"},
    )
    assert created.status_code == 201, created.data
    return client


def login(cqmr, hint: str, iss: str = ENTITY_ID):
    return cqmr.get(
        "/login", query_string={"iss": iss, "login_hint": hint, "target_link_uri": "http://localhost/"}
    )


def test_the_person_the_wizard_named_is_signed_in(cqmr, saml_idp):  # noqa: F811
    started = login(cqmr, "ohp-pat")
    assert started.status_code == 302
    answer = saml_idp.answer(cqmr, started.location, "ohp-pat", sp=CQMR)
    done = cqmr.post("/saml/acs", data={"SAMLResponse": answer})
    assert done.status_code == 302 and done.location == "http://localhost/"
    home = cqmr.get("/")
    assert home.status_code == 200, re.sub(r"<[^>]+>|\s+", " ", home.get_data(as_text=True))[-600:]
    assert "Pat Alvarez" in home.get_data(as_text=True)


def test_someone_else_signed_in_at_the_idp_is_refused(cqmr, saml_idp):  # noqa: F811
    started = login(cqmr, "ohp-pat")
    answer = saml_idp.answer(cqmr, started.location, "ohp-someone-else", sp=CQMR)
    refused = cqmr.post("/saml/acs", data={"SAMLResponse": answer})
    assert refused.status_code == 403 and "Signed in as someone else" in refused.get_data(as_text=True)
    assert "Sign in with OneHealthPort" in cqmr.get("/").get_data(as_text=True)


def test_another_idp_or_an_unsigned_answer_is_refused(cqmr, saml_idp):  # noqa: F811
    assert login(cqmr, "ohp-pat", iss="https://other-idp.example").status_code == 400
    started = login(cqmr, "ohp-pat")
    answer = saml_idp.answer(cqmr, started.location, "ohp-pat", sp=CQMR, sign=None)
    assert cqmr.post("/saml/acs", data={"SAMLResponse": answer}).status_code == 400
    assert "Sign in with OneHealthPort" in cqmr.get("/").get_data(as_text=True)
