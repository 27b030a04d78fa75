"""Every way a OneHealthPort sign-in can go wrong ends on a clear page with a fitting status,
changes nothing, and is audited. All against the real provider."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from .helpers import free_port, page_text
from .sso_support import (
    CONNECT_PAGE,
    audit_events,
    back_to_wizard,
    connect,
    identities,
    organization,
    query,
    signed_in_admin,
    start,
)


@pytest.fixture
def app(app_factory, idp):
    return app_factory(**idp.app_config())


def member_of_new_ohp_org(idp) -> dict:
    return idp.add_account(organization=idp.add_organization())


def assert_nothing_changed(app, org_id: int) -> None:
    assert identities(app) == []
    assert organization(app, org_id).ohp_org_id is None


def last_failure(app) -> dict:
    return audit_events(app, "sso.failed")[-1]


def test_denying_consent(app, idp):
    client, _, org_id = signed_in_admin(app)
    response = connect(client, idp, member_of_new_ohp_org(idp), decision="deny")
    assert response.status_code == 403
    assert "did not allow this service" in page_text(response)
    assert 'href="/onehealthport"' in response.get_data(as_text=True)  # start again
    assert_nothing_changed(app, org_id)
    assert last_failure(app)["reason"] == "access_denied"


def test_cancelling_at_the_login_page(app, idp):
    client, _, org_id = signed_in_admin(app)
    answer = idp.authorize(start(client), cancel=True)
    assert query(answer)["error"] == "access_denied"
    response = back_to_wizard(client, answer)
    assert response.status_code == 403
    assert_nothing_changed(app, org_id)


def test_a_state_that_does_not_match(app, idp):
    client, _, org_id = signed_in_admin(app)
    answer = idp.authorize(start(client), member_of_new_ohp_org(idp))
    state = query(answer)["state"]
    response = back_to_wizard(client, answer.replace(f"state={state}", "state=forged"))
    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in page_text(response)
    assert_nothing_changed(app, org_id)
    assert last_failure(app)["reason"] == "state_mismatch"
    # The started sign-in is used up too: the genuine answer cannot follow the forged one.
    assert back_to_wizard(client, answer).status_code == 400
    assert_nothing_changed(app, org_id)


def test_a_callback_from_another_browser(app, idp):
    client, _, org_id = signed_in_admin(app)
    answer = idp.authorize(start(client), member_of_new_ohp_org(idp))
    intruder, _, intruder_org = signed_in_admin(app, "intruder@beta.example.org")
    assert back_to_wizard(intruder, answer).status_code == 400
    assert_nothing_changed(app, intruder_org)
    assert back_to_wizard(client, answer).status_code == 302  # the real browser still can


def test_a_replayed_callback(app, idp):
    client, user_id, org_id = signed_in_admin(app)
    answer = idp.authorize(start(client), member_of_new_ohp_org(idp))
    assert back_to_wizard(client, answer).status_code == 302
    linked = identities(app)
    replay = back_to_wizard(client, answer)
    assert replay.status_code == 400
    assert identities(app) == linked
    assert last_failure(app)["reason"] == "state_mismatch"


def test_a_nonce_that_does_not_match(app, idp):
    client, _, org_id = signed_in_admin(app)
    location = start(client)
    with client.session_transaction() as session:
        flow = session["sso_flow"]
        flow["nonce"] = "not-the-nonce-that-was-sent"
        session["sso_flow"] = flow
    response = back_to_wizard(client, idp.authorize(location, member_of_new_ohp_org(idp)))
    assert response.status_code == 401
    assert "could not be verified" in page_text(response)
    assert_nothing_changed(app, org_id)
    failure = last_failure(app)
    assert failure["reason"] == "invalid_id_token" and "nonce" in failure["detail"]


@pytest.mark.parametrize(
    "tamper, expected",
    [
        # An ID token for another client; azp names us, so only the audience check catches it.
        ({"claims": {"aud": ["someone-else"], "azp": "cqmr-wizard-test"}}, "aud"),
        ({"claims": {"aud": ["cqmr-wizard-test", "someone-else"]}}, "aud"),
        ({"claims": {"iss": "https://impostor.example"}}, "iss"),
        ({"key": "rogue"}, "Signature"),  # signed with a key the provider does not publish
    ],
)
def test_an_id_token_that_fails_verification(app_factory, start_idp, tamper, expected):
    provider = start_idp(env={"IDP_TAMPER": json.dumps(tamper)})
    app = app_factory(**provider.app_config())
    client, _, org_id = signed_in_admin(app)
    response = connect(client, provider, member_of_new_ohp_org(provider))
    assert response.status_code == 401
    assert_nothing_changed(app, org_id)
    failure = last_failure(app)
    assert failure["reason"] == "invalid_id_token" and expected in failure["detail"]


def test_an_expired_id_token(app_factory, start_idp):
    # The provider's clock runs 15 minutes slow and its ID tokens last a minute.
    provider = start_idp(env={"IDP_CLOCK_SKEW_SECONDS": "-900", "IDP_ID_TOKEN_TTL": "60"})
    app = app_factory(**provider.app_config())
    client, _, org_id = signed_in_admin(app)
    response = connect(client, provider, member_of_new_ohp_org(provider))
    assert response.status_code == 401
    assert_nothing_changed(app, org_id)
    assert "Expired" in last_failure(app)["detail"]


def test_a_provider_whose_issuer_is_not_the_configured_one(app_factory, idp):
    # Same server, but configured under another name: its discovery document names itself.
    other_name = idp.issuer.replace("127.0.0.1", "localhost")
    app = app_factory(**idp.app_config(OIDC_ISSUER=other_name))
    client, _, org_id = signed_in_admin(app)
    response = client.get(CONNECT_PAGE)
    from .helpers import submit

    response = submit(client, "/onehealthport/start", {}, page=CONNECT_PAGE)
    assert response.status_code == 502
    assert "cannot use" in page_text(response)
    assert last_failure(app)["reason"] == "bad_provider"
    with client.session_transaction() as session:
        assert "sso_flow" not in session


def test_a_wrong_client_secret(app_factory, idp):
    app = app_factory(**idp.app_config(OIDC_CLIENT_SECRET="not-the-secret"))
    client, _, org_id = signed_in_admin(app)
    response = connect(client, idp, member_of_new_ohp_org(idp))
    assert response.status_code == 400
    assert "refused to complete" in page_text(response)
    assert_nothing_changed(app, org_id)
    assert last_failure(app)["detail"] == "invalid_client"


def test_an_unreachable_provider(app_factory, idp):
    closed = f"http://127.0.0.1:{free_port()}"
    app = app_factory(**idp.app_config(OIDC_ISSUER=closed, OIDC_TIMEOUT=2))
    client, _, org_id = signed_in_admin(app)
    from .helpers import submit

    response = submit(client, "/onehealthport/start", {}, page=CONNECT_PAGE)
    assert response.status_code == 502
    assert "could not be reached" in page_text(response)
    assert last_failure(app)["reason"] == "unreachable"


def test_a_provider_that_goes_away_before_the_answer_is_checked(app_factory, start_idp):
    provider = start_idp()
    app = app_factory(**provider.app_config(OIDC_TIMEOUT=2))
    client, _, org_id = signed_in_admin(app)
    answer = provider.authorize(start(client), member_of_new_ohp_org(provider))
    provider.stop()
    response = back_to_wizard(client, answer)
    assert response.status_code == 502
    assert_nothing_changed(app, org_id)


def test_a_sign_in_that_took_too_long(app_factory, idp):
    app = app_factory(**idp.app_config(OIDC_FLOW_TTL=timedelta(0)))
    client, _, org_id = signed_in_admin(app)
    response = connect(client, idp, member_of_new_ohp_org(idp))
    assert response.status_code == 400
    assert "took too long" in page_text(response)
    assert_nothing_changed(app, org_id)


def test_an_identity_linked_to_another_account(app, idp):
    account = member_of_new_ohp_org(idp)
    first, first_id, _ = signed_in_admin(app)
    assert connect(first, idp, account).status_code == 302
    second, _, second_org = signed_in_admin(app, "second@beta.example.org")
    response = connect(second, idp, account)
    assert response.status_code == 409
    assert "already connected to another CQMR onboarding account" in page_text(response)
    assert [i[0] for i in identities(app)] == [first_id]
    assert organization(app, second_org).ohp_org_id is None
    assert audit_events(app, "sso.refused")[-1]["reason"] == "linked_to_another_account"


def test_a_callback_without_any_sign_in_started(app):
    client = app.test_client()
    response = client.get("/sso/callback?code=abc&state=xyz")
    assert response.status_code == 400
    response = client.get("/sso/callback")
    assert response.status_code == 400
