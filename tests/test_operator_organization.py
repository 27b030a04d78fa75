"""The operator's page about one organization: members, signatures, suspension, MFA reset."""

import json

from sqlalchemy import func, select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Membership, Organization, Signature, TotpCredential
from cqmr_wizard.tasks import load_facts

from .agreement_helpers import OPA, consent, load_agreements, post_form, review, signed_in_signer
from .helpers import fresh_code, page_text, stored_secret, task_status
from .operator_support import (
    OPERATOR_EMAIL,
    count_queries,
    make_org,
    member_client,
    operator_client,
    post_with_token,
)


def events(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)
        ).all()


def test_shows_members_roles_readiness_and_tasks(app):
    org_id = make_org(app, "Cascade Health", members=3, ready=1, tax_id="12-3456789", ohp_org_id="OHP-C")
    client = operator_client(app)
    response = client.get(f"/operator/organizations/{org_id}")
    assert response.status_code == 200
    text = page_text(response)
    assert "Cascade Health" in text and "12-3456789" in text
    assert "Member 0 of" in text and "Organization administrator" in text and "Report viewer" in text
    html = response.get_data(as_text=True)
    # Member 0's own tasks are done, but "Ready" is the gate's answer: the organization's
    # agreements are not signed, so it lets nobody in (tests/test_ready.py shows members ready).
    assert html.count('class="ready">Ready<') == 0
    assert html.count('class="ready">Not ready<') == 3
    assert task_status(response, "eligibility") == "Completed"
    assert "No agreement has been signed electronically yet" in text
    assert client.get("/operator/organizations/999999").status_code == 404


def test_suspending_shuts_the_gate_shows_the_reason_and_is_audited(app):
    org_id = make_org(app, "Cascade Health")
    member, member_id = member_client(app, "ada@cascade.example", org_id, ("admin",))
    client = operator_client(app)
    page = f"/operator/organizations/{org_id}"
    response = post_with_token(client, f"{page}/suspend", {"reason": "   "}, token_page=page)
    assert response.status_code == 400
    assert "Enter the reason for the suspension" in page_text(response)
    response = post_with_token(client, f"{page}/suspend", {"reason": "x" * 501}, token_page=page)
    assert response.status_code == 400
    assert client.post(f"{page}/suspend", data={"reason": "no token"}).status_code == 400
    with app.app_context():
        assert db.session.get(Organization, org_id).suspended_at is None
    assert events(app, "operator.organization_suspended") == []

    response = post_with_token(
        client, f"{page}/suspend", {"reason": "Business associate agreement lapsed"}, token_page=page
    )
    assert response.status_code == 302
    with app.app_context():
        org = db.session.get(Organization, org_id)
        assert org.suspended_at is not None
        assert org.suspension_reason == "Business associate agreement lapsed"
        membership = db.session.scalar(select(Membership).where(Membership.user_id == member_id))
        assert load_facts(membership.user, membership).organization.suspended is True
    (event,) = events(app, "operator.organization_suspended")
    assert event.organization_id == org_id and event.actor_id is not None
    assert json.loads(event.details) == {"reason": "Business associate agreement lapsed"}
    tasks = page_text(member.get("/tasks"))
    assert "Your organization's access is suspended" in tasks
    assert "Business associate agreement lapsed" in tasks
    # Suspending twice is refused and changes nothing.
    response = post_with_token(client, f"{page}/suspend", {"reason": "again"}, token_page=page)
    assert response.status_code == 400
    assert "already suspended" in page_text(response)
    assert len(events(app, "operator.organization_suspended")) == 1

    assert post_with_token(client, f"{page}/reactivate", token_page=page).status_code == 302
    with app.app_context():
        assert db.session.get(Organization, org_id).suspended_at is None
    (event,) = events(app, "operator.organization_reactivated")
    assert event.actor_id is not None
    assert json.loads(event.details) == {"previous_reason": "Business associate agreement lapsed"}
    assert "access is suspended" not in page_text(member.get("/tasks"))
    response = post_with_token(client, f"{page}/reactivate", token_page=page)
    assert response.status_code == 409
    assert "This organization is not suspended" in page_text(response)
    assert client.post(f"{page}/reactivate").status_code == 400  # no CSRF token


def test_resetting_a_members_second_factor_needs_the_operators_own_code(app, mailbox):
    org_id = make_org(app, "Cascade Health")
    _, member_id = member_client(app, "ada@cascade.example", org_id, ("admin",))
    client = operator_client(app)
    url = f"/operator/organizations/{org_id}/members/{member_id}/reset-second-factor"
    page = client.get(url)
    assert page.status_code == 200 and "Set up on" in page_text(page)
    response = post_with_token(client, url, {"code": "000000"}, token_page=url)
    assert response.status_code == 400
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(TotpCredential).where(TotpCredential.user_id == member_id)
            )
            == 1
        )
    code = fresh_code(app, OPERATOR_EMAIL, stored_secret(app, OPERATOR_EMAIL))
    response = post_with_token(client, url, {"code": code}, token_page=url)
    assert response.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(TotpCredential).where(TotpCredential.user_id == member_id)
            )
            == 0
        )
    body = mailbox.last_to("ada@cascade.example").get_payload(decode=True).decode()
    assert "of the CQMR program team, reset two-step verification" in body
    (event,) = events(app, "mfa.reset")
    assert event.subject_user_id == member_id and event.organization_id == org_id
    with app.app_context():
        operator_id = db.session.scalar(
            select(AuditEvent.subject_user_id)
            .where(AuditEvent.event_type == "auth.signed_in")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    assert event.actor_id == operator_id
    # Someone who is not a member of this organization is not found here.
    other_org = make_org(app, "Elsewhere", members=1)
    assert (
        client.get(f"/operator/organizations/{other_org}/members/{member_id}/reset-second-factor").status_code
        == 404
    )


def test_signatures_show_their_evidence_and_documents_download(app):
    load_agreements(app)
    signer = app.test_client()
    signer_id, org_id = signed_in_signer(app, signer, "sam@example.org")
    consent(signer)
    review(signer, OPA)
    response = post_form(
        signer,
        OPA + "/sign",
        {
            "full_name": "Samantha Q. Signer",
            "title": "Chief Executive Officer",
            "agree": "y",
            "code": fresh_code(app, "sam@example.org", stored_secret(app, "sam@example.org")),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        certificate, copy = signature.certificate_pdf, signature.signed_copy_pdf
        digest = signature.content_sha256
    client = operator_client(app)
    page = client.get(f"/operator/organizations/{org_id}")
    text = page_text(page)
    assert "Samantha Q. Signer, Chief Executive Officer" in text and digest in text
    base = f"/operator/organizations/{org_id}/signatures/{signature.id}"
    response = client.get(f"{base}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == certificate
    assert client.get(f"{base}/signed-copy.pdf").data == copy
    assert client.get(f"{base}/other.pdf").status_code == 404
    other = make_org(app, "Elsewhere")
    assert (
        client.get(f"/operator/organizations/{other}/signatures/{signature.id}/certificate.pdf").status_code
        == 404
    )
    downloads = events(app, "operator.document_downloaded")
    assert [json.loads(e.details)["document"] for e in downloads] == ["certificate", "signed-copy"]


def test_the_page_query_count_does_not_grow_with_members(app):
    small = make_org(app, "Small", members=2)
    large = make_org(app, "Large", members=25)
    with app.app_context():
        for n in range(10):
            from cqmr_wizard import audit

            audit.record("onboarding.answer_saved", organization_id=large, details={"n": n})
        db.session.commit()
    client = operator_client(app)
    counts = []
    for org_id in (small, large):
        client.get(f"/operator/organizations/{org_id}")
        with count_queries(app) as counter:
            assert client.get(f"/operator/organizations/{org_id}").status_code == 200
        counts.append(counter["n"])
    assert counts[0] == counts[1]
