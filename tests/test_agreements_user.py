"""Each user's own agreements: consent, the text, a tick and a typed name; required before
that user goes to the CQMR."""

from __future__ import annotations

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import UserSignature

from .agreement_helpers import (
    AUA,
    USER_TOS,
    attachments,
    audit_events,
    consent,
    count,
    hidden_fields,
    load_agreements,
    make_signer_org,
    post_form,
    publish_new_version,
    review,
    sha256,
)
from .builders import add_member, make_user, sign_user_agreements
from .helpers import page_text, sign_in, task_status

EMAIL = "max@example.org"


def member(app, client) -> int:
    _, org_id = make_signer_org(app)
    user_id = add_member(app, org_id, email=EMAIL, roles=("submitter",)).user_id
    assert sign_in(client, EMAIL).status_code == 302
    return user_id


def click_sign(client, url: str, **overrides):
    data = {"full_name": "Max Q. Member", "agree": "y", **overrides}
    return post_form(client, url + "/sign", {k: v for k, v in data.items() if v is not None})


def test_a_user_click_signs_both_agreements_and_may_then_go_to_the_cqmr(app, client, mailbox):
    load_agreements(app)
    user_id = member(app, client)
    assert task_status(client.get("/tasks"), "user_agreements") == "Not started"
    gate = page_text(client.get("/go-to-cqmr"))
    assert "Sign your user agreements" in gate

    assert client.get(AUA).location.startswith("/agreements/consent")
    consent(client)
    review(client, AUA)
    signed = click_sign(client, AUA)
    assert signed.status_code == 302 and "/agreements/yours/signed/" in signed.location
    assert task_status(client.get("/tasks"), "user_agreements") == "In progress"
    review(client, USER_TOS)
    assert click_sign(client, USER_TOS).status_code == 302
    assert task_status(client.get("/tasks"), "user_agreements") == "Completed"
    assert "Sign your user agreements" not in page_text(client.get("/go-to-cqmr"))

    with app.app_context():
        rows = db.session.scalars(select(UserSignature).order_by(UserSignature.id)).all()
        assert [r.version.kind for r in rows] == ["aua", "user_tos"]
        first = rows[0]
        assert (first.signer_id, first.typed_name, first.signer_roles) == (
            user_id,
            "Max Q. Member",
            "submitter",
        )
        assert first.content_sha256 == first.version.content_sha256
        assert first.consent_id and first.ip_address and first.user_agent and first.session_hash
        assert first.consented_at <= first.viewed_at <= first.signed_at
        ids = [(r.id, r.signed_copy_sha256, r.certificate_sha256) for r in rows]
    for signature_id, copy_hash, certificate_hash in ids:
        copy = client.get(f"/agreements/yours/signatures/{signature_id}/signed-copy.pdf")
        certificate = client.get(f"/agreements/yours/signatures/{signature_id}/certificate.pdf")
        assert sha256(copy.data) == copy_hash and sha256(certificate.data) == certificate_hash
    assert len(attachments(mailbox.last_to(EMAIL))) == 2
    assert [e["scope"] for e in audit_events(app, "agreement.signed")] == ["user", "user"]


def test_refused_without_the_tick_or_the_name(app, client):
    load_agreements(app)
    member(app, client)
    consent(client)
    review(client, AUA)
    for overrides, message in (
        ({"agree": None}, "Select the box to agree to sign"),
        ({"full_name": ""}, "Enter your full legal name"),
    ):
        response = click_sign(client, AUA, **overrides)
        assert response.status_code == 400 and message in page_text(response)
        assert page_text(response).startswith("Error: ")
    assert count(app, UserSignature) == 0


def test_a_stale_version_is_refused_and_a_new_version_reopens_the_task(app, client):
    load_agreements(app)
    member(app, client)
    consent(client)
    review(client, AUA)
    shown = hidden_fields(client.get(AUA + "/sign"))
    publish_new_version(app, "aua")
    stale = client.post(AUA + "/sign", data={**shown, "full_name": "Max", "agree": "y"})
    assert stale.status_code == 409 and "A new version" in page_text(stale)
    assert count(app, UserSignature) == 0

    review(client, AUA)
    assert click_sign(client, AUA).status_code == 302
    review(client, USER_TOS)
    assert click_sign(client, USER_TOS).status_code == 302
    assert task_status(client.get("/tasks"), "user_agreements") == "Completed"
    publish_new_version(app, "user_tos")
    assert task_status(client.get("/tasks"), "user_agreements") == "Not started"
    assert "no longer counts" in page_text(client.get("/agreements/yours"))


def test_a_user_without_an_organization_signs_too(app, client):
    load_agreements(app)
    make_user(app, "solo@example.org")
    assert sign_in(client, "solo@example.org").status_code == 302
    consent(client)
    review(client, AUA)
    assert click_sign(client, AUA).status_code == 302
    assert task_status(client.get("/tasks"), "user_agreements") == "In progress"


def test_one_users_signed_copy_is_not_anothers_to_download(app, client):
    load_agreements(app)
    other = make_user(app, "other@example.org")
    sign_user_agreements(app, other)
    with app.app_context():
        theirs = db.session.scalar(select(UserSignature.id).where(UserSignature.signer_id == other))
    member(app, client)
    assert client.get(f"/agreements/yours/signatures/{theirs}/signed-copy.pdf").status_code == 404
    assert client.get(f"/agreements/yours/signatures/{theirs}/certificate.pdf").status_code == 404
    assert client.get(f"/agreements/yours/signed/{theirs}").status_code == 404


def test_consent_is_recorded_once_and_can_be_withdrawn(app, client):
    load_agreements(app)
    member(app, client)
    unticked = post_form(client, "/agreements/consent", {})
    assert unticked.status_code == 400 and "Select the box to consent" in page_text(unticked)
    assert audit_events(app, "agreement.consented") == []
    consent(client)
    again = client.get("/agreements/consent")
    assert "You consented on" in page_text(again)
    assert len(audit_events(app, "agreement.consented")) == 1
    page = client.get("/agreements/consent/withdraw")
    assert "What you have already signed electronically still stands" in page_text(page)
    assert post_form(client, "/agreements/consent/withdraw").status_code == 302
    assert client.get(AUA).location.startswith("/agreements/consent")
    consent(client)
    assert len(audit_events(app, "agreement.consented")) == 2
    refused = post_form(client, "/agreements/consent", {}, page="/agreements/consent/withdraw")
    assert refused.status_code == 200  # already consented: the page says so, nothing recorded
    assert len(audit_events(app, "agreement.consented")) == 2
