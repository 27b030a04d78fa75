"""Signing an organization agreement: consent, the full text, name, title, tick and a fresh code;
and every way it is refused without changing anything."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from cqmr_wizard.agreements.pdf import signed_copy_pdf
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AgreementVersion, Signature, TotpCredential

from .agreement_helpers import (
    OPA,
    OVERVIEW,
    attachments,
    audit_events,
    consent,
    count,
    hidden_fields,
    load_agreements,
    post_form,
    publish_new_version,
    review,
    sha256,
    signed_in_signer,
)
from .builders import sign_organization_agreement
from .helpers import fresh_code, page_text, stored_secret, task_status, totp_now

EMAIL = "sam@example.org"
SIGN = OPA + "/sign"


def sign_data(app, **overrides) -> dict:
    data = {
        "full_name": "Samantha Q. Signer",
        "title": "Chief Executive Officer",
        "agree": "y",
        "code": fresh_code(app, EMAIL, stored_secret(app, EMAIL)),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def ready_to_sign(app, client, url: str = OPA) -> None:
    consent(client)
    review(client, url)


def test_signer_signs_and_every_piece_of_evidence_is_kept(app, client, mailbox):
    load_agreements(app)
    user_id, org_id = signed_in_signer(app, client)
    # Consent to electronic records comes first.
    first = client.get(OPA)
    assert first.status_code == 302 and first.location.startswith("/agreements/consent?next=")
    disclosure = page_text(client.get("/agreements/consent"))
    for promise in ("paper copy", "withdraw", "What this consent covers", "PDF"):
        assert promise in disclosure
    consent(client)
    text = client.get(OPA)
    assert "SAMPLE TEXT" in page_text(text) and "Download it as a PDF" in page_text(text)
    review(client, OPA)

    data = sign_data(app)
    response = post_form(client, SIGN, data)
    assert response.status_code == 302 and "/agreements/organization/signed/" in response.location
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        version = db.session.get(AgreementVersion, signature.agreement_version_id)
        last_step = db.session.scalar(
            select(TotpCredential.last_used_step).where(
                TotpCredential.user_id == user_id, TotpCredential.state == "active"
            )
        )
        assert (version.kind, signature.content_sha256) == ("opa", version.content_sha256)
        assert (signature.signer_id, signature.organization_id) == (user_id, org_id)
        assert signature.typed_name == "Samantha Q. Signer"
        assert signature.signer_title == "Chief Executive Officer"
        assert signature.signer_roles == "admin,signer"
        assert signature.totp_step == last_step
        assert totp_now(stored_secret(app, EMAIL), at=signature.totp_step * 30) == data["code"]
        assert signature.consented_at <= signature.viewed_at <= signature.signed_at
        assert signature.ip_address == "127.0.0.1" and signature.user_agent
        assert len(signature.session_hash) == 64 and signature.consent_id
        stored = (signature.id, signature.signed_copy_sha256, signature.certificate_sha256)
        # The signed copy is a pure function of the record: made again, it is the same file.
        assert sha256(signed_copy_pdf(signature, version)) == signature.signed_copy_sha256

    done = client.get(response.location)
    assert "You have signed the CQMR Organizational Participation Agreement" in page_text(done)
    copy = client.get(f"/agreements/organization/signatures/{stored[0]}/signed-copy.pdf")
    certificate = client.get(f"/agreements/organization/signatures/{stored[0]}/certificate.pdf")
    assert copy.mimetype == certificate.mimetype == "application/pdf"
    assert sha256(copy.data) == stored[1] and sha256(certificate.data) == stored[2]
    words = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(certificate.data)).pages)
    words = " ".join(words.split())
    for expected in (
        version.content_sha256,
        stored[1],
        "Consented to electronic records",
        "Reviewed the full text",
        "Signed electronically",
        "Samantha Q. Signer",
        "Chief Executive Officer",
        f"time step {last_step}",
    ):
        assert expected in words, expected

    mail = mailbox.last_to(EMAIL)
    files = attachments(mail)
    assert len(files) == 2
    assert {sha256(data) for data in files.values()} == {stored[1], stored[2]}

    signed = audit_events(app, "agreement.signed")
    assert len(signed) == 1 and signed[0]["signed_copy_sha256"] == stored[1]
    assert signed[0]["totp_step"] == last_step
    assert audit_events(app, "agreement.consented") and audit_events(app, "agreement.viewed")
    tasks = client.get("/tasks")
    assert task_status(tasks, "org_agreements") == "In progress"


def test_refused_without_the_tick_or_the_name_or_the_title(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    ready_to_sign(app, client)
    for overrides, message in (
        ({"agree": None}, "Select the box to agree to sign"),
        ({"full_name": "   "}, "Enter your full legal name"),
        ({"title": ""}, "Enter your title"),
    ):
        response = post_form(client, SIGN, sign_data(app, **overrides))
        assert response.status_code == 400
        text = page_text(response)
        assert text.startswith("Error: ") and "There is a problem" in text and message in text
    assert count(app, Signature) == 0


def test_refused_without_consent_and_after_withdrawing_it(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    ready_to_sign(app, client)
    shown = hidden_fields(client.get(SIGN))
    withdrawn = post_form(client, "/agreements/consent/withdraw")
    assert withdrawn.status_code == 302
    assert audit_events(app, "agreement.consent_withdrawn")
    page = client.get(SIGN)  # the page itself sends the signer back to consent
    assert page.status_code == 302 and page.location.startswith("/agreements/consent")
    response = client.post(SIGN, data={**shown, **sign_data(app)})
    assert response.status_code == 400
    assert "Give your consent to use electronic records" in page_text(response)
    assert count(app, Signature) == 0
    consent(client)  # consenting again makes signing possible again
    assert post_form(client, SIGN, sign_data(app)).status_code == 302
    assert count(app, Signature) == 1


def test_refused_without_a_fresh_code(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    ready_to_sign(app, client)
    missing = post_form(client, SIGN, sign_data(app, code=""))
    assert missing.status_code == 400 and "Enter the 6-digit code" in page_text(missing)
    wrong = post_form(client, SIGN, sign_data(app, code="000000"))
    assert wrong.status_code == 400 and "The code is not right" in page_text(wrong)
    with app.app_context():
        used = db.session.scalar(select(TotpCredential.last_used_step))
    replayed = totp_now(stored_secret(app, EMAIL), at=used * 30)  # the sign-in code
    again = post_form(client, SIGN, sign_data(app, code=replayed))
    assert again.status_code == 400 and "already been used" in page_text(again)
    assert count(app, Signature) == 0


def test_refused_for_a_stale_version(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    ready_to_sign(app, client)
    shown = hidden_fields(client.get(SIGN))
    publish_new_version(app, "opa")
    response = client.post(SIGN, data={**shown, **sign_data(app)})
    assert response.status_code == 409
    assert "A new version of the CQMR Organizational Participation Agreement" in page_text(response)
    assert count(app, Signature) == 0


def test_a_second_signature_of_the_same_version_is_refused(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    ready_to_sign(app, client)
    shown = hidden_fields(client.get(SIGN))
    assert client.post(SIGN, data={**shown, **sign_data(app)}).status_code == 302
    # Refused before the code is even checked, so a double click is not taken for a replay.
    again = client.post(SIGN, data={**shown, **sign_data(app, code="000000")})
    assert again.status_code == 409 and "Already signed" in page_text(again)
    assert count(app, Signature) == 1


def test_publishing_a_new_version_reopens_the_task(app, client):
    load_agreements(app)
    user_id, _ = signed_in_signer(app, client)
    sign_organization_agreement(app, user_id, "opa")
    sign_organization_agreement(app, user_id, "mihin_tos")
    assert task_status(client.get("/tasks"), "org_agreements") == "Completed"

    publish_new_version(app, "opa")
    assert task_status(client.get("/tasks"), "org_agreements") == "Not started"
    overview = page_text(client.get(OVERVIEW))
    assert "A new version of this agreement was published" in overview
    assert "no longer counts" in overview
    # Signing the new version completes it again (consent was given once, and still stands).
    review(client, OPA)
    assert post_form(client, SIGN, sign_data(app)).status_code == 302
    assert task_status(client.get("/tasks"), "org_agreements") == "Completed"
    assert count(app, Signature) == 3
