"""A downloaded signed copy and certificate verify against the stored hashes; an edited copy does
not, on the command line and on the page."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

from .agreement_helpers import VERIFY, sign_participation_agreement
from .helpers import csrf_from, page_text


def signed_documents(app, client) -> tuple[bytes, bytes]:
    signature_id = sign_participation_agreement(app, client)
    base = f"/agreements/organization/signatures/{signature_id}"
    return client.get(base + "/signed-copy.pdf").data, client.get(base + "/certificate.pdf").data


def edited(data: bytes) -> bytes:
    """The same document opened and saved again with one change, as an editor would."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.add_metadata({"/Subject": "signed by someone else"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_command_verifies_originals_and_rejects_an_edited_copy(app, client, tmp_path):
    copy, certificate = signed_documents(app, client)
    runner = app.test_cli_runner()
    for name, data in (("copy.pdf", copy), ("certificate.pdf", certificate)):
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(args=["agreements", "verify", str(path)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("VERIFIED") and "Sam Signer, Director" in result.output
    assert "signed copy" in runner.invoke(args=["agreements", "verify", str(tmp_path / "copy.pdf")]).output
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(edited(copy))
    result = runner.invoke(args=["agreements", "verify", str(changed)])
    assert result.exit_code == 1 and "NOT VERIFIED" in result.output


def test_the_page_verifies_originals_and_rejects_an_edited_copy(app, client):
    copy, certificate = signed_documents(app, client)
    visitor = app.test_client()  # anyone holding a document may check it

    def check(data: bytes):
        token = csrf_from(visitor.get(VERIFY).get_data(as_text=True))
        return visitor.post(
            VERIFY,
            data={"csrf_token": token, "file": (io.BytesIO(data), "x.pdf")},
            content_type="multipart/form-data",
        )

    for data, what in ((copy, "signed copy"), (certificate, "certificate of completion")):
        response = check(data)
        assert response.status_code == 200
        text = page_text(response)
        assert "Verified" in text and f"unaltered {what}" in text and "Sam Signer" in text
    for data in (copy, certificate):
        assert "Not verified" in page_text(check(edited(data)))
    token = csrf_from(visitor.get(VERIFY).get_data(as_text=True))
    empty = visitor.post(VERIFY, data={"csrf_token": token}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "Select the PDF to check" in page_text(empty)
