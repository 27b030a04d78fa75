"""Training materials: operators publish links and PDFs; members mark them reviewed; the optional
task on the task list follows."""

import io
import json
from pathlib import Path

from sqlalchemy import func, select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, TrainingResource, TrainingReview

from .agreement_helpers import tiny_pdf
from .helpers import csrf_from, page_text, task_status
from .operator_support import make_org, member_client, operator_client, post_with_token

PDF = tiny_pdf()


def publish(
    client,
    *,
    title="Getting started",
    audience="all",
    url=None,
    pdf=None,
    filename="guide.pdf",
    description="",
):
    page = client.get("/operator/training")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "title": title,
        "audience": audience,
        "description": description,
        "url": url or "",
    }
    if pdf is not None:
        data["pdf"] = (io.BytesIO(pdf), filename)
    return client.post("/operator/training", data=data, content_type="multipart/form-data")


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_operators_publish_links_and_pdfs(app, tmp_path):
    client = operator_client(app)
    response = publish(
        client, title="CQMR quick start", url="https://cqmr.example.org/start", description="Ten minutes."
    )
    assert response.status_code == 302
    response = publish(client, title="Signing guide", audience="signers", pdf=PDF)
    assert response.status_code == 302
    page = page_text(client.get("/operator/training"))
    assert "CQMR quick start" in page and "Signing guide" in page and "Authorized signers" in page
    with app.app_context():
        stored = db.session.scalar(select(TrainingResource).where(TrainingResource.file_name.is_not(None)))
        path = Path(app.instance_path) / "uploads" / "training" / stored.file_name
        assert path.read_bytes() == PDF and stored.original_filename == "guide.pdf"
        added = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "training.resource_added")
        ).all()
        assert [json.loads(e.details)["title"] for e in added] == ["CQMR quick start", "Signing guide"]
        resource_id = stored.id
    download = client.get(f"/operator/training/{resource_id}/file")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"


def test_bad_resources_are_refused_and_nothing_is_stored(app_factory):
    app = app_factory(TRAINING_PDF_MAX_BYTES=4 * 1024 * 1024)
    client = operator_client(app)
    cases = [
        ({"url": "http://insecure.example.org/guide"}, "starts with https://"),
        ({"url": "javascript:alert(1)"}, "starts with https://"),
        ({"url": "https://"}, "starts with https://"),
        ({}, "Give a link, or upload a PDF"),
        ({"url": "https://ok.example.org", "pdf": PDF}, "not both"),
        ({"pdf": b"<html>not a pdf</html>"}, "must be a PDF"),
        ({"pdf": b""}, "empty"),
        ({"pdf": PDF + b"x" * (4 * 1024 * 1024)}, "smaller than 4 MB"),
        ({"title": "", "url": "https://ok.example.org"}, "Enter a title"),
        ({"audience": "everyone", "url": "https://ok.example.org"}, "Choose who it is for"),
    ]
    for data, message in cases:
        response = publish(client, **data)
        assert response.status_code == 400, data.keys()
        assert message in page_text(response), (data.keys(), message)
    assert count(app, TrainingResource) == 0
    folder = Path(app.instance_path) / "uploads" / "training"
    assert not folder.exists() or list(folder.iterdir()) == []
    # Too large for any form: refused before it is read.
    response = publish(client, pdf=PDF + b"x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    # Without the form's CSRF token.
    response = client.post("/operator/training", data={"title": "x", "url": "https://a.example"})
    assert response.status_code == 400
    assert count(app, TrainingResource) == 0


def test_a_pdf_larger_than_other_forms_may_be_is_accepted(app):
    client = operator_client(app)
    big = PDF + b"%" + b"x" * (3 * 1024 * 1024)  # more than MAX_CONTENT_LENGTH (2 MB)
    assert publish(client, pdf=big).status_code == 302
    assert count(app, TrainingResource) == 1


def test_members_see_what_is_meant_for_them_and_the_task_follows(app):
    org_id = make_org(app, "Cascade Health")
    admin, admin_id = member_client(app, "ada@cascade.example", org_id, ("admin",))
    signer, _ = member_client(app, "sam@cascade.example", org_id, ("signer",))
    operator = operator_client(app)
    assert task_status(admin.get("/tasks"), "training") == "Not started"  # nothing published: not "Completed"
    publish(operator, title="Everyone's guide", url="https://cqmr.example.org/all")
    publish(operator, title="Signers' guide", audience="signers", pdf=PDF)
    with app.app_context():
        everyone, signers = db.session.scalars(
            select(TrainingResource.id).order_by(TrainingResource.id)
        ).all()
    text = page_text(admin.get("/training"))
    assert "Everyone's guide" in text and "Signers' guide" not in text
    assert "Signers' guide" in page_text(signer.get("/training"))
    assert admin.get(f"/training/{signers}/file").status_code == 404
    assert signer.get(f"/training/{signers}/file").data == PDF
    assert task_status(admin.get("/tasks"), "training") == "Not started"

    response = post_with_token(admin, f"/training/{everyone}/reviewed", token_page="/training")
    assert response.status_code == 302
    assert task_status(admin.get("/tasks"), "training") == "In progress"
    # The administrator cannot review the signers' item for the organization.
    assert post_with_token(admin, f"/training/{signers}/reviewed", token_page="/training").status_code == 404
    response = post_with_token(signer, f"/training/{signers}/reviewed", token_page="/training")
    assert response.status_code == 302
    assert task_status(admin.get("/tasks"), "training") == "Completed"
    assert task_status(signer.get("/tasks"), "training") == "Completed"
    page = page_text(admin.get("/training"))
    assert "You marked this as reviewed" in page and "1 person in your organization" in page

    # Marking twice changes nothing.
    post_with_token(admin, f"/training/{everyone}/reviewed", token_page="/training")
    assert count(app, TrainingReview) == 2
    with app.app_context():
        reviewed = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "training.reviewed")
        ).all()
        assert len(reviewed) == 2 and reviewed[0].actor_id == admin_id
        assert reviewed[0].organization_id == org_id

    # A new item re-opens the task; withdrawing it closes it again.
    publish(operator, title="New module", url="https://cqmr.example.org/new")
    assert task_status(admin.get("/tasks"), "training") == "In progress"
    with app.app_context():
        new = db.session.scalar(select(func.max(TrainingResource.id)))
    response = post_with_token(
        operator, f"/operator/training/{new}/withdraw", token_page="/operator/training"
    )
    assert response.status_code == 302
    assert task_status(admin.get("/tasks"), "training") == "Completed"
    assert "New module" not in page_text(admin.get("/training"))
    assert (
        post_with_token(
            operator, f"/operator/training/{new}/withdraw", token_page="/operator/training"
        ).status_code
        == 409
    )


def test_the_training_task_is_optional(app):
    org_id = make_org(app, "Cascade Health")
    admin, _ = member_client(app, "ada@cascade.example", org_id, ("admin",))
    tasks = admin.get("/tasks").get_data(as_text=True)
    row = tasks.split('id="status-training"')[0].rsplit("<li", 1)[1]
    assert "Review training materials" in row and "(optional)" in row
    missing = admin.get("/go-to-cqmr")
    assert missing.status_code == 403 and 'id="missing-' in missing.get_data(as_text=True)
    assert 'id="missing-training"' not in missing.get_data(as_text=True)


def test_members_cannot_manage_training_and_outsiders_cannot_review(app, client):
    org_id = make_org(app, "Cascade Health")
    admin, _ = member_client(app, "ada@cascade.example", org_id, ("admin",))
    operator = operator_client(app)
    publish(operator, title="Guide", url="https://cqmr.example.org/g")
    assert admin.get("/operator/training").status_code == 403
    assert (
        post_with_token(
            admin, "/operator/training", {"title": "Mine", "url": "https://x.example"}
        ).status_code
        == 403
    )
    assert post_with_token(admin, "/operator/training/1/withdraw").status_code == 403
    assert client.get("/training").status_code == 302  # anonymous: sign in first
    assert count(app, TrainingResource) == 1
