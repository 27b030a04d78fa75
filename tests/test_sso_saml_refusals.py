"""SAML responses the wizard must refuse, each with a clear page, an audit event and no
session: real XML signed with xmlsec1 by pysaml2's IdP side under keys made for the test."""

from __future__ import annotations

import base64
import re

import pytest

from .builders import make_user
from .helpers import page_text
from .saml_idp import SamlIdp, saml_idp, shifted  # noqa: F401
from .sso_support import audit_events, identities, signed_in_admin, start
from .test_sso_saml import ORG, post_answer

SUBJECT = "ohp-persistent-123"
ASSERTION = re.compile(r"<ns1:Assertion .*?</ns1:Assertion>", re.S)
SIGNATURE = re.compile(r"<ns2:Signature .*?</ns2:Signature>", re.S)


@pytest.fixture
def app(app_factory, saml_idp):  # noqa: F811
    return app_factory(**saml_idp.app_config())


@pytest.fixture
def victim(app, saml_idp):  # noqa: F811
    """An administrator whose account is linked to SUBJECT: what a forged answer would reach."""
    client, user_id, _ = signed_in_admin(app)
    location = start(client)
    assert post_answer(client, saml_idp.answer(client, location, SUBJECT, ORG)).status_code == 302
    return user_id


def sign_in_start(app):
    visitor = app.test_client()
    return visitor, start(visitor, "/sign-in/onehealthport", page="/sign-in")


def refused(
    app,
    visitor,
    answer: str,
    reason: str,
    status: int,
    title: str = "You could not sign in",
    *,
    signed_out=True,
):
    """The answer is refused with a clear page, audited with `reason`, and no one is signed in."""
    before = len(audit_events(app, "sso.failed"))
    response = post_answer(visitor, answer)
    assert response.status_code == status, (response.status_code, page_text(response)[:300])
    assert title in page_text(response)
    events = audit_events(app, "sso.failed")
    assert len(events) == before + 1 and events[-1]["reason"] == reason, events[-1:]
    if signed_out:
        assert visitor.get("/tasks").location.startswith("/sign-in")
    return events[-1]


def test_an_unsigned_assertion_is_refused(app, saml_idp, victim):  # noqa: F811
    visitor, location = sign_in_start(app)
    answer = saml_idp.answer(visitor, location, SUBJECT, ORG, sign=None)
    refused(app, visitor, answer, "invalid_response", 401)


def test_an_assertion_signed_by_another_key_is_refused(app, saml_idp, victim):  # noqa: F811
    visitor, location = sign_in_start(app)
    answer = saml_idp.answer(
        visitor, location, SUBJECT, ORG, key=saml_idp.other_key, cert=saml_idp.other_cert
    )
    refused(app, visitor, answer, "invalid_response", 401)


def _evil(signed_assertion: str) -> str:
    """An unsigned copy of the assertion about the victim instead of the attacker."""
    evil = SIGNATURE.sub("", signed_assertion).replace("attacker-subject", SUBJECT)
    return evil.replace('ID="id-', 'ID="evil-', 1)


def _sibling(xml: str) -> str:
    """XSW: the evil assertion placed beside (before) the signed one."""
    signed = ASSERTION.search(xml).group(0)
    return xml.replace(signed, _evil(signed) + signed)


def _wrapped(xml: str) -> str:
    """XSW: the evil assertion in the signed one's place, the signed one inside its Advice."""
    signed = ASSERTION.search(xml).group(0)
    evil = _evil(signed)
    evil = evil.replace("</ns1:Conditions>", f"</ns1:Conditions><ns1:Advice>{signed}</ns1:Advice>", 1)
    return xml.replace(signed, evil)


def _same_id_sibling(xml: str) -> str:
    """XSW: the evil assertion, carrying the signed one's own ID, after it."""
    signed = ASSERTION.search(xml).group(0)
    return xml.replace(signed, signed + SIGNATURE.sub("", signed).replace("attacker-subject", SUBJECT))


@pytest.mark.parametrize("wrap", [_sibling, _wrapped, _same_id_sibling])
def test_signature_wrapping_does_not_sign_in_the_victim(app, saml_idp, victim, wrap):  # noqa: F811
    visitor, location = sign_in_start(app)
    answer = saml_idp.answer(visitor, location, "attacker-subject", ORG, tamper=wrap)
    assert SUBJECT in base64.b64decode(answer).decode()
    refused(app, visitor, answer, "invalid_response", 401)


def _assertion(response):
    return response.assertion[0]


def _confirmation(response):
    return _assertion(response).subject.subject_confirmation[0].subject_confirmation_data


def _audience(response):
    _assertion(response).conditions.audience_restriction[0].audience[0].text = "https://other-sp.example"


def _destination(response):
    response.destination = "https://evil.example/sso/saml/acs"


def _recipient(response):
    _confirmation(response).recipient = "https://evil.example/sso/saml/acs"


def _expired(response):
    conditions = _assertion(response).conditions
    conditions.not_before, conditions.not_on_or_after = shifted(-20), shifted(-10)
    _confirmation(response).not_on_or_after = shifted(-10)


def _not_yet_valid(response):
    _assertion(response).conditions.not_before = shifted(10)


def _unsolicited(response):
    response.in_response_to = None
    _confirmation(response).in_response_to = None


@pytest.mark.parametrize(
    "edit", [_audience, _destination, _recipient, _expired, _not_yet_valid, _unsolicited]
)
def test_answers_not_meant_for_this_request_now_and_here_are_refused(app, saml_idp, victim, edit):  # noqa: F811
    visitor, location = sign_in_start(app)
    answer = saml_idp.answer(visitor, location, SUBJECT, ORG, edit=edit)
    refused(app, visitor, answer, "invalid_response", 401)


def test_an_unsolicited_response_to_a_browser_that_started_nothing_is_refused(app, saml_idp, victim):  # noqa: F811
    starter, location = sign_in_start(app)
    answer = saml_idp.answer(starter, location, SUBJECT, ORG, edit=_unsolicited)
    # A browser that started no sign-in: the page cannot say which one failed.
    refused(app, app.test_client(), answer, "state_mismatch", 400, "Single sign-on did not work")


def test_an_answer_to_another_browsers_request_is_refused(app, saml_idp, victim):  # noqa: F811
    other, other_location = sign_in_start(app)
    visitor, _ = sign_in_start(app)
    answer = saml_idp.answer(other, other_location, SUBJECT, ORG)
    event = refused(app, visitor, answer, "invalid_response", 401)
    assert event["detail"].startswith("UnsolicitedResponse")


def test_a_replayed_response_is_refused_by_every_instance(app_factory, app, saml_idp, victim):  # noqa: F811
    visitor, location = sign_in_start(app)
    with visitor.session_transaction() as session:
        request_id = session["sso_flow"]["request_id"]
    answer = saml_idp.answer(visitor, location, SUBJECT, ORG)
    assert post_answer(visitor, answer).location == "/tasks"
    # The same browser posting it again has no sign-in waiting for it any more.
    refused(app, visitor, answer, "state_mismatch", 400, "Single sign-on did not work", signed_out=False)
    # A browser (here or on a second instance sharing the database) whose own sign-in carries
    # the very same request id still cannot use it: the assertion id was already used.
    for instance in (app, app_factory(**saml_idp.app_config())):
        thief = instance.test_client()
        start(thief, "/sign-in/onehealthport", page="/sign-in")
        with thief.session_transaction() as session:
            session["sso_flow"] = {**session["sso_flow"], "request_id": request_id}
        refused(app, thief, answer, "replayed", 400)


def test_a_comment_in_the_nameid_is_refused(app, saml_idp):  # noqa: F811
    # The victim is known as user@evil.com; the attacker's own subject is user@evil.com.example.com.
    make_user(app, "victim@example.org")
    visitor, location = sign_in_start(app)
    answer = saml_idp.answer(
        visitor,
        location,
        "user@evil.com.example.com",
        ORG,
        tamper=lambda xml: xml.replace("user@evil.com.example.com", "user@evil.com<!---->.example.com"),
    )
    event = refused(app, visitor, answer, "invalid_response", 401)
    assert event["detail"] == "XML comment"
    assert identities(app) == []
