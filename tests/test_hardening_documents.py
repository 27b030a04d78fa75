"""Issue 15, item 6: one PDF check refuses active content in every upload, and agreement
Markdown is rendered through an allow-list."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from .agreement_helpers import (
    AUA,
    OPA,
    consent,
    load_agreements,
    publish_new_version,
    signed_in_signer,
    tiny_pdf,
)
from .helpers import page_text
from .test_agreements_uploads import stored_files, upload
from .test_training import PDF, count, publish


def pdf_with(change) -> bytes:
    """A real one-page PDF (fpdf2, as a scanner app would make), changed by `change(writer)`."""
    writer = PdfWriter(clone_from=io.BytesIO(tiny_pdf()))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def action(kind: str, **entries) -> DictionaryObject:
    values = {NameObject("/S"): NameObject(kind)}
    values.update({NameObject(k): TextStringObject(v) for k, v in entries.items()})
    return DictionaryObject(values)


def open_action_js(writer):
    writer._root_object[NameObject("/OpenAction")] = action("/JavaScript", **{"/JS": "app.alert(1)"})


def document_js(writer):
    script = writer._add_object(action("/JavaScript", **{"/JS": "app.alert(1)"}))
    tree = DictionaryObject({NameObject("/Names"): ArrayObject([TextStringObject("run"), script])})
    writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): tree})


def launch_on_page(writer):
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): action("/Launch", **{"/F": "calc.exe"})})


def embedded_file(writer):
    writer.add_attachment("payload.exe", b"MZ not really a program")


def xfa_form(writer):
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/XFA"): TextStringObject("<xdp:xdp/>"),
            NameObject("/Fields"): writer._add_object(DictionaryObject()),
        }
    )


ACTIVE = [
    (open_action_js, "JavaScript"),
    (document_js, "JavaScript"),
    (launch_on_page, "a command that starts other programs"),
    (embedded_file, "embedded files"),
    (xfa_form, "an XFA form"),
]
NOT_A_PDF = b"%PDF-1.7\n<html><script>alert(document.cookie)</script></html>\n"


@pytest.mark.parametrize(("change", "named"), ACTIVE, ids=[c.__name__ for c, _ in ACTIVE])
def test_a_returned_agreement_with_active_content_is_refused(app, client, change, named):
    load_agreements(app)
    signed_in_signer(app, client)
    response = upload(client, OPA, pdf_with(change))
    assert response.status_code == 400
    assert named in page_text(response) and "does not accept" in page_text(response)
    assert stored_files(app) == []


def test_a_plain_pdf_is_still_accepted(app, client):
    load_agreements(app)
    signed_in_signer(app, client)
    assert upload(client, OPA, pdf_with(lambda writer: None)).status_code == 302


@pytest.mark.parametrize(("change", "named"), ACTIVE, ids=[c.__name__ for c, _ in ACTIVE])
def test_a_training_pdf_with_active_content_is_refused(app, change, named):
    from cqmr_wizard.models import TrainingResource

    from .operator_support import operator_client

    client = operator_client(app)
    response = publish(client, pdf=pdf_with(change))
    assert response.status_code == 400 and named in page_text(response)
    assert count(app, TrainingResource) == 0


def test_html_after_a_pdf_header_is_not_a_pdf(app):
    from cqmr_wizard.models import TrainingResource

    from .operator_support import operator_client

    client = operator_client(app)
    response = publish(client, pdf=NOT_A_PDF)
    assert response.status_code == 400 and "could not be read as a PDF" in page_text(response)
    assert count(app, TrainingResource) == 0
    assert publish(client, pdf=PDF).status_code == 302


def test_agreement_markdown_cannot_carry_a_javascript_link(app, client):
    load_agreements(app)
    publish_new_version(
        app, "aua", "\n\n[Click](javascript:alert(1)) and [the program](https://www.oregon.gov/oha/).\n"
    )
    signed_in_signer(app, client)
    consent(client)
    html = client.get(AUA).get_data(as_text=True)
    assert "javascript:" not in html
    assert '<a href="https://www.oregon.gov/oha/">the program</a>' in html
