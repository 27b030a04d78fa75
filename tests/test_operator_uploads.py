"""Operators verify or reject the signed paper copies organizations send back; the signer is
told, and the organization's task list follows."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AgreementUpload

from .agreement_helpers import MIHIN, OPA, audit_events, load_agreements, signed_in_signer, tiny_pdf
from .helpers import csrf_from, page_text, task_status
from .operator_support import operator_client
from .test_agreements_uploads import upload

SIGNER = "sam@example.org"


def pending_organization(app, client) -> tuple[int, list[int]]:
    """A signer who uploaded both organization agreements; returns (org id, upload ids)."""
    load_agreements(app)
    _, org_id = signed_in_signer(app, client, SIGNER)
    for url in (OPA, MIHIN):
        assert upload(client, url, tiny_pdf()).status_code == 302
    with app.app_context():
        ids = db.session.scalars(select(AgreementUpload.id).order_by(AgreementUpload.id)).all()
    return org_id, list(ids)


def statuses(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AgreementUpload.status).order_by(AgreementUpload.id)).all()


def verify(operator, org_id: int, upload_id: int):
    page = operator.get(f"/operator/organizations/{org_id}")
    token = csrf_from(page.get_data(as_text=True))
    return operator.post(
        f"/operator/organizations/{org_id}/uploads/{upload_id}/verify",
        data={f"verify-{upload_id}-csrf_token": token},
    )


def test_verifying_both_copies_completes_the_task_and_tells_the_signer(app, client, mailbox):
    org_id, ids = pending_organization(app, client)
    assert task_status(client.get("/tasks"), "org_agreements") == "Waiting for review"
    operator = operator_client(app)
    page = operator.get(f"/operator/organizations/{org_id}")
    assert "Signed copies waiting for review" in page_text(page) and "Open the scan" in page_text(page)

    scan = operator.get(f"/operator/organizations/{org_id}/uploads/{ids[0]}.pdf")
    assert scan.status_code == 200 and scan.mimetype == "application/pdf"
    with app.app_context():
        stored = db.session.get(AgreementUpload, ids[0]).sha256
    assert hashlib.sha256(scan.data).hexdigest() == stored

    assert verify(operator, org_id, ids[0]).status_code == 302
    assert statuses(app) == ["verified", "pending"]
    assert task_status(client.get("/tasks"), "org_agreements") == "Waiting for review"
    assert verify(operator, org_id, ids[1]).status_code == 302
    assert statuses(app) == ["verified", "verified"]
    assert task_status(client.get("/tasks"), "org_agreements") == "Completed"
    assert "accepted" in mailbox.last_to(SIGNER)["Subject"]
    events = audit_events(app, "agreement.upload_verified")
    assert [e["upload_id"] for e in events] == ids

    # Verifying again changes nothing and says why.
    again = verify(operator, org_id, ids[0])
    assert again.status_code == 409
    assert "You already verified this signed copy on" in page_text(again)
    assert len(audit_events(app, "agreement.upload_verified")) == 2


def test_rejecting_needs_a_reason_which_the_signer_receives(app, client, mailbox):
    org_id, ids = pending_organization(app, client)
    operator = operator_client(app)
    url = f"/operator/organizations/{org_id}/uploads/{ids[0]}/reject"
    form = operator.get(url)
    assert form.status_code == 200
    empty = operator.post(url, data={"csrf_token": csrf_from(form.get_data(as_text=True)), "reason": "  "})
    assert empty.status_code == 400
    assert page_text(empty).startswith("Error: ")
    assert "Enter the reason the signed copy cannot be accepted" in page_text(empty)
    assert statuses(app) == ["pending", "pending"]

    reason = "Page 3 is missing the signature block."
    done = operator.post(url, data={"csrf_token": csrf_from(form.get_data(as_text=True)), "reason": reason})
    assert done.status_code == 302
    assert statuses(app) == ["rejected", "pending"]
    message = mailbox.last_to(SIGNER)
    assert reason in message.get_payload(decode=True).decode()
    # One agreement's copy was rejected, the other's still awaits review.
    assert task_status(client.get("/tasks"), "org_agreements") == "In progress"
    [event] = audit_events(app, "agreement.upload_rejected")
    assert event["reason"] == reason


def test_only_operators_review_uploads_and_only_by_organization(app, client):
    org_id, ids = pending_organization(app, client)
    token = csrf_from(client.get("/tasks").get_data(as_text=True))
    base = f"/operator/organizations/{org_id}/uploads/{ids[0]}"
    assert client.get(base + ".pdf").status_code == 403
    assert client.post(base + "/verify", data={f"verify-{ids[0]}-csrf_token": token}).status_code == 403
    assert client.post(base + "/reject", data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert statuses(app) == ["pending", "pending"]

    operator = operator_client(app)
    other = f"/operator/organizations/{org_id + 1000}/uploads/{ids[0]}"
    assert operator.get(other + ".pdf").status_code == 404
    assert operator.get(other + "/reject").status_code == 404
    page_token = csrf_from(operator.get(f"/operator/organizations/{org_id}").get_data(as_text=True))
    assert (
        operator.post(other + "/verify", data={f"verify-{ids[0]}-csrf_token": page_token}).status_code == 404
    )
    assert statuses(app) == ["pending", "pending"]
    assert verify(operator, org_id, ids[0]).status_code == 302  # the right organization works
    anonymous = app.test_client()
    assert anonymous.get(base + ".pdf").status_code == 302
