"""Who may use each agreement page, who signs, and what everyone else is told."""

from __future__ import annotations

import pytest

from cqmr_wizard.access import Access
from cqmr_wizard.extensions import db
from cqmr_wizard.models import Organization, Signature

from .agreement_helpers import (
    MIHIN,
    OPA,
    OVERVIEW,
    audit_events,
    load_agreements,
    make_signer_org,
    post_form,
    sign_participation_agreement,
)
from .builders import add_member, make_user, sign_user_agreements
from .helpers import page_text, sign_in

PAGES = {
    "/agreements/verify": Access.PUBLIC,
    "/agreements/consent": Access.USER,
    "/agreements/consent/withdraw": Access.USER,
    "/agreements/yours": Access.USER,
    "/agreements/yours/authorized-user-agreement": Access.USER,
    "/agreements/participation-agreement.pdf": Access.USER,
    OVERVIEW: Access.MEMBER,
    "/agreements/organization/signer": Access.ORG_ADMIN,
    OPA: Access.SIGNER,
    OPA + "/sign": Access.SIGNER,
    OPA + "/decline": Access.SIGNER,
    OPA + "/upload": Access.SIGNER,
}


def test_every_agreement_view_declares_its_access(app):
    undeclared = [
        name
        for name, view in app.view_functions.items()
        if name.startswith("agreements.") and not hasattr(view, "access")
    ]
    assert undeclared == []
    with app.test_request_context():
        from cqmr_wizard.access import view_access

        for path, level in PAGES.items():
            endpoint = app.url_map.bind("localhost").match(path)[0]
            assert view_access(endpoint) is level, path


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    load_agreements(app)
    for path, level in PAGES.items():
        response = client.get(path)
        if level is Access.PUBLIC:
            assert response.status_code == 200, path
        else:
            assert response.status_code == 302 and response.location.startswith("/sign-in"), path


def test_a_password_only_session_must_give_its_second_factor(app, client):
    load_agreements(app)
    make_signer_org(app)
    assert sign_in(client, "sam@example.org", second_factor=False).status_code == 302
    for path, level in PAGES.items():
        if level is not Access.PUBLIC:
            response = client.get(path)
            assert response.status_code == 302, path
            assert response.location.startswith("/two-step-verification"), path


def test_a_user_without_an_organization_reaches_only_their_own_pages(app, client):
    load_agreements(app)
    make_user(app, "solo@example.org")
    sign_in(client, "solo@example.org")
    for path, level in PAGES.items():
        response = client.get(path)
        if level in (Access.PUBLIC, Access.USER):
            assert response.status_code in (200, 302), path
            assert not (response.location or "").endswith("/tasks"), path
        else:
            assert response.status_code == 302 and response.location == "/tasks", path


@pytest.mark.parametrize("roles", [("submitter",), ("admin",)])
def test_members_who_are_not_signers_are_refused_and_told_who_can(app, client, roles):
    load_agreements(app)
    signer_id, org_id = make_signer_org(app, roles=("signer",), name="Sam Signer")
    add_member(app, org_id, email="max@example.org", roles=roles)
    sign_in(client, "max@example.org")
    for path, level in PAGES.items():
        response = client.get(path)
        if level is Access.SIGNER:
            assert response.status_code == 403, path
            text = page_text(response)
            assert "Only your organization's authorized signer can sign" in text
            assert "Sam Signer (sam@example.org) has been chosen to sign" in text
        elif level is Access.ORG_ADMIN and "admin" not in roles:
            assert response.status_code == 403, path
        else:
            assert response.status_code in (200, 302), path
    response = post_form(
        client,
        OPA + "/sign",
        {"full_name": "Max", "title": "x", "agree": "y", "code": "123456"},
        page="/agreements/consent",
    )
    assert response.status_code == 403
    assert db_count_signatures(app) == 0


def test_a_signer_who_was_not_designated_cannot_sign(app, client):
    load_agreements(app)
    _, org_id = make_signer_org(app, roles=("admin", "signer"), name="Ada Admin")
    add_member(app, org_id, email="max@example.org", roles=("signer",))
    sign_in(client, "max@example.org")
    response = client.get(OPA)
    assert response.status_code == 403
    assert "chosen someone else to sign" in page_text(response)


def test_the_administrator_designates_a_member_holding_the_signer_role(app, client):
    load_agreements(app)
    admin_id, org_id = make_signer_org(
        app, "ada@example.org", roles=("admin",), designate=False, name="Ada Admin"
    )
    sign_in(client, "ada@example.org")
    empty = client.get("/agreements/organization/signer")
    assert "No member of your team holds the Authorized signer role" in page_text(empty)
    assert 'href="/team"' in empty.get_data(as_text=True)
    signer_id = add_member(app, org_id, email="sam@example.org", name="Sam Signer", roles=("signer",)).user_id
    add_member(app, org_id, email="max@example.org", roles=("submitter",))
    page = client.get("/agreements/organization/signer")
    assert "Sam Signer (sam@example.org)" in page_text(page)
    assert "max@example.org" not in page_text(page)
    refused = post_form(client, "/agreements/organization/signer", {"signer": str(admin_id)})
    assert refused.status_code == 400 and "Select who will sign" in page_text(refused)
    chosen = post_form(client, "/agreements/organization/signer", {"signer": str(signer_id)})
    assert chosen.status_code == 302
    with app.app_context():
        assert db.session.get(Organization, org_id).designated_signer_id == signer_id
    assert audit_events(app, "agreement.signer_designated")[0]["organization_id"] == org_id
    assert "Sam Signer (sam@example.org) will sign" in page_text(client.get(OVERVIEW))


def test_the_designated_signer_may_decline_with_a_reason(app, client):
    load_agreements(app)
    make_signer_org(app)
    sign_in(client, "sam@example.org")
    response = post_form(client, MIHIN + "/decline", {"reason": "Clause 4 needs legal review."})
    assert response.status_code == 302
    declined = audit_events(app, "agreement.declined")
    assert declined[0]["kind"] == "mihin_tos" and declined[0]["reason"] == "Clause 4 needs legal review."
    assert db_count_signatures(app) == 0


def test_another_organizations_signed_copy_cannot_be_downloaded(app, client):
    signature_id = sign_participation_agreement(app, client, "Sam", "CEO")
    other = app.test_client()
    make_signer_org(app, "zed@example.org", name="Zed")
    sign_in(other, "zed@example.org")
    for suffix in ("signed-copy.pdf", "certificate.pdf"):
        assert other.get(f"/agreements/organization/signatures/{signature_id}/{suffix}").status_code == 404
    assert other.get(f"/agreements/organization/signed/{signature_id}").status_code == 404


def test_signing_helper_for_other_tests_completes_the_user_task(app, client):
    load_agreements(app)
    user_id = make_user(app, "helper@example.org")
    sign_user_agreements(app, user_id)
    sign_in(client, "helper@example.org")
    from .helpers import task_status

    assert task_status(client.get("/tasks"), "user_agreements") == "Completed"


def db_count_signatures(app) -> int:
    from .agreement_helpers import count

    return count(app, Signature)
