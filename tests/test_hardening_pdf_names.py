"""Issue 15, item 7: signed copies and certificates print every signer's name as typed
(an embedded Unicode font with CJK and Arabic fallbacks), and still verify."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from .agreement_helpers import sign_participation_agreement

NAMES = {
    "polish": ("Łukasz Żółć", "Dyrektor ds. jakości"),
    "vietnamese": ("Nguyễn Thị Hương", "Giám đốc"),
    "chinese": ("王小明", "医疗主任"),
    "arabic": ("محمد عبد الله", "مدير"),
}


def text_of(data: bytes) -> str:
    """The PDF's text as pypdf extracts it. pypdf reads the CJK font's two-byte codes as a NUL
    and the character (the ToUnicode map itself is right), so NULs are dropped."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\x00", "")


def words_in(text: str, name: str) -> bool:
    """Every word of `name` is in the text (right-to-left words may come out in visual order)."""
    squeezed = "".join(text.split())
    return all(word in squeezed for word in name.split())


@pytest.mark.parametrize("script", NAMES)
def test_signed_documents_print_the_name_as_typed_and_verify(app, client, tmp_path, script):
    name, title = NAMES[script]
    signature_id = sign_participation_agreement(app, client, name, title)
    base = f"/agreements/organization/signatures/{signature_id}"
    copy, certificate = client.get(base + "/signed-copy.pdf").data, client.get(base + "/certificate.pdf").data
    for data in (copy, certificate):
        text = text_of(data)
        assert "?" * 3 not in text
        assert words_in(text, name), text[-600:]
        assert words_in(text, title)
    runner = app.test_cli_runner()
    for file_name, data in (("copy.pdf", copy), ("certificate.pdf", certificate)):
        path = tmp_path / file_name
        path.write_bytes(data)
        result = runner.invoke(args=["agreements", "verify", str(path)])
        assert result.exit_code == 0 and result.output.startswith("VERIFIED"), result.output
        assert name in result.output
