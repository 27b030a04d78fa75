"""Returning an agreement signed on paper: the scan is checked by content, kept under a random
name, waits for a registry operator, and is verified or rejected (with the reason mailed)."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AgreementUpload

from .agreement_helpers import (
    MIHIN,
    OPA,
    OVERVIEW,
    audit_events,
    count,
    hidden_fields,
    load_agreements,
    sha256,
    signed_in_signer,
    tiny_pdf,
)
from .helpers import page_text, task_status

EMAIL = "sam@example.org"


def upload(client, url: str, data: bytes, filename: str = "signed agreement.pdf"):
    form = client.get(url + "/upload")
    assert form.status_code == 200, form.status_code
    return client.post(
        url + "/upload",
        data={**hidden_fields(form), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def stored_files(app) -> list[Path]:
    folder = Path(app.instance_path) / "uploads" / "agreements"
    return sorted(folder.glob("*")) if folder.exists() else []


def uploads(app) -> list[AgreementUpload]:
    with app.app_context():
        rows = db.session.scalars(select(AgreementUpload).order_by(AgreementUpload.id)).all()
        db.session.expunge_all()
        return rows


def test_signed_copies_wait_for_review_then_count_once_verified(app, client, mailbox):
    load_agreements(app)
    signed_in_signer(app, client)
    scan = tiny_pdf(pages=3)
    response = upload(client, OPA, scan)
    assert response.status_code == 302 and response.location == OVERVIEW
    [row] = uploads(app)
    assert row.status == "pending" and row.sha256 == sha256(scan) and row.size == len(scan)
    assert row.original_filename == "signed agreement.pdf"
    [kept] = stored_files(app)
    assert kept.name == row.stored_name and kept.name != "signed agreement.pdf"
    assert kept.read_bytes() == scan
    assert task_status(client.get("/tasks"), "org_agreements") == "In progress"

    assert upload(client, MIHIN, tiny_pdf()).status_code == 302
    assert task_status(client.get("/tasks"), "org_agreements") == "Waiting for review"
    assert "Waiting for review" in page_text(client.get(OVERVIEW))
    assert len(audit_events(app, "agreement.uploaded")) == 2

    runner = app.test_cli_runner()
    for item in uploads(app):
        result = runner.invoke(args=["agreements", "verify-upload", str(item.id)])
        assert result.exit_code == 0, result.output
    assert task_status(client.get("/tasks"), "org_agreements") == "Completed"
    assert "Signed copy accepted" in mailbox.last_to(EMAIL)["Subject"]
    assert len(audit_events(app, "agreement.upload_verified")) == 2
    again = runner.invoke(args=["agreements", "verify-upload", str(row.id)])
    assert again.exit_code != 0 and "already verified" in again.output


def test_a_rejected_copy_is_mailed_back_with_the_reason(app, client, mailbox):
    load_agreements(app)
    signed_in_signer(app, client)
    assert upload(client, OPA, tiny_pdf()).status_code == 302
    [row] = uploads(app)
    runner = app.test_cli_runner()
    missing_reason = runner.invoke(args=["agreements", "reject-upload", str(row.id)])
    assert missing_reason.exit_code != 0
    result = runner.invoke(
        args=["agreements", "reject-upload", str(row.id), "--reason", "The signature page is missing."]
    )
    assert result.exit_code == 0, result.output
    mail = mailbox.last_to(EMAIL)
    assert "not accepted" in mail["Subject"]
    assert "The signature page is missing." in mail.get_payload(decode=True).decode()
    assert "The signature page is missing." in page_text(client.get(OVERVIEW))
    assert task_status(client.get("/tasks"), "org_agreements") == "Not started"
    rejected = audit_events(app, "agreement.upload_rejected")
    assert rejected[0]["reason"] == "The signature page is missing."
    # A corrected copy can be returned.
    assert upload(client, OPA, tiny_pdf(pages=2)).status_code == 302
    assert [u.status for u in uploads(app)] == ["rejected", "pending"]


def test_a_renamed_file_that_is_not_a_pdf_is_refused(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    fake = b"PK\x03\x04" + b"\x00" * 200  # a zip (a .docx, say) renamed to .pdf
    response = upload(client, OPA, fake, "agreement.pdf")
    assert response.status_code == 415
    text = page_text(response)
    assert text.startswith("Error: ") and "The selected file must be a PDF" in text
    damaged = upload(client, OPA, b"%PDF-1.7\nthis is not really a PDF\n", "agreement.pdf")
    assert damaged.status_code == 400 and "could not be read" in page_text(damaged)
    nothing = client.post(
        OPA + "/upload", data=hidden_fields(client.get(OPA + "/upload")), content_type="multipart/form-data"
    )
    assert nothing.status_code == 400 and "Select the signed agreement" in page_text(nothing)
    assert count(app, AgreementUpload) == 0 and stored_files(app) == []


def test_an_oversized_file_is_refused(app_factory):
    app = app_factory(AGREEMENT_UPLOAD_MAX_BYTES=20_000)
    client = app.test_client()
    load_agreements(app)
    signed_in_signer(app, client)
    over_limit = tiny_pdf(padding=30_000)
    assert 20_000 < len(over_limit) < 20_000 + 64 * 1024
    response = upload(client, OPA, over_limit)
    assert response.status_code == 413 and "smaller than 19 KB" in page_text(response)
    # Far beyond the limit, the request itself is refused before it is read.
    huge = upload(client, OPA, b"%PDF-1.4\n" + b"0" * 200_000)
    assert huge.status_code == 413 and "smaller than 19 KB" in page_text(huge)
    assert count(app, AgreementUpload) == 0 and stored_files(app) == []


def test_an_oversized_upload_tells_only_a_signer_about_the_upload_page(app_factory):
    app = app_factory(AGREEMENT_UPLOAD_MAX_BYTES=20_000)
    load_agreements(app)
    huge = {"file": (io.BytesIO(b"%PDF-1.4\n" + b"0" * 200_000), "a.pdf")}
    response = app.test_client().post(OPA + "/upload", data=huge, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "The file or form is too large" in page_text(response) and "19 KB" not in page_text(response)
    assert count(app, AgreementUpload) == 0


def test_an_upload_without_a_csrf_token_is_refused(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    fields = {k: v for k, v in hidden_fields(client.get(OPA + "/upload")).items() if k != "csrf_token"}
    response = client.post(
        OPA + "/upload",
        data={**fields, "file": (io.BytesIO(tiny_pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert count(app, AgreementUpload) == 0
