"""PDFs (fpdf2): an agreement to read or sign on paper, a signed copy, a certificate of completion.

Every PDF is a pure function of database records: fixed creation date, fixed producer and
fpdf2's content-derived file id, so the same record always gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import TextStyle

from ..models import AgreementVersion, Signature, UserSignature
from . import pdf_fonts

PRODUCER = "CQMR onboarding wizard"
HEADING = {
    f"h{n}": TextStyle(color="#1b1b1b", font_size_pt=size, t_margin=4, b_margin=1)
    for n, size in ((1, 16), (2, 13), (3, 11), (4, 10), (5, 10), (6, 10))
}
TAG_STYLES = {
    **HEADING,
    "blockquote": TextStyle(color="#1b1b1b", t_margin=2, b_margin=2, l_margin=6),
    "code": TextStyle(font_family=pdf_fonts.FAMILY),
    "pre": TextStyle(font_family=pdf_fonts.FAMILY),
}


def utc(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else "-"


class _Document(FPDF):
    def __init__(self, footer_text: str, created: datetime) -> None:
        super().__init__(format="Letter")
        pdf_fonts.install(self)
        self.footer_text = self.unicode(footer_text)
        self.set_creation_date(created)
        self.set_producer(PRODUCER)
        self.set_creator(PRODUCER)
        self.set_auto_page_break(True, margin=18)
        self.set_margins(20, 18, 20)
        self.add_page()

    def unicode(self, text: str | None) -> str:
        """Text ready to print, with the fonts it needs added to the document."""
        return pdf_fonts.cover(self, text)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(pdf_fonts.FAMILY, size=7)
        self.set_text_color(80)
        self.cell(0, 4, self.footer_text, align="L")
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)

    def heading(self, text: str, size: int = 16) -> None:
        self.set_font(pdf_fonts.FAMILY, "B", size)
        self.multi_cell(0, size * 0.5, self.unicode(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def para(self, text: str, size: int = 10, style: str = "") -> None:
        self.set_font(pdf_fonts.FAMILY, style, size)
        self.multi_cell(0, size * 0.5, self.unicode(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def keep_together(self, height: float) -> None:
        """Start a new page unless `height` mm still fit on this one."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()

    def rows(self, pairs: Sequence[tuple[str, str]]) -> None:
        for label, value in pairs:
            self.set_font(pdf_fonts.FAMILY, "B", 9)
            self.cell(52, 5, self.unicode(label))
            self.set_font(pdf_fonts.FAMILY, "", 9)
            self.multi_cell(0, 5, self.unicode(value), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def body(self, version: AgreementVersion) -> None:
        self.set_font(pdf_fonts.FAMILY, size=10)
        self.write_html(
            self.unicode(version.content_html),
            font_family=pdf_fonts.FAMILY,
            tag_styles=TAG_STYLES,
            li_prefix_color=(27, 27, 27),
        )
        self.ln(4)

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def _title_block(pdf: _Document, version: AgreementVersion) -> None:
    pdf.heading(version.title)
    pdf.rows(
        [
            ("Version", f"{version.display_version}, published {utc(version.published_at)}"),
            ("Document SHA-256", version.content_sha256),
        ]
    )


def agreement_pdf(version: AgreementVersion, organization_name: str | None = None) -> bytes:
    """The agreement as published, with a block to sign by hand for returning a signed copy."""
    pdf = _Document(
        f"{version.title} - {version.display_version} - SHA-256 {version.content_sha256[:16]}...",
        version.published_at,
    )
    _title_block(pdf, version)
    pdf.body(version)
    if organization_name is not None:
        pdf.keep_together(90)
        pdf.heading("Signature", 12)
        pdf.para(
            f"Signed for {organization_name} by a person authorized to execute contracts "
            "on its behalf. Return a scan of this signed page with the whole agreement."
        )
        pdf.ln(4)
        for label in ("Signature", "Full legal name", "Title", "Date"):
            pdf.para(f"{label}: ______________________________________________", 10)
            pdf.ln(4)
        pdf.para(f"Agreement version id {version.id}; document SHA-256 {version.content_sha256}.", 7)
    return pdf.output_bytes()


AnySignature = Signature | UserSignature


def _signer_line(signature: AnySignature) -> str:
    if isinstance(signature, Signature):
        return f"{signature.typed_name}, {signature.signer_title}, for {signature.organization_name}"
    return signature.typed_name


def signed_copy_pdf(signature: AnySignature, version: AgreementVersion) -> bytes:
    """The agreement text with its electronic signature block."""
    pdf = _Document(f"Signed copy - {version.title} - {version.display_version}", signature.signed_at)
    _title_block(pdf, version)
    pdf.body(version)
    pdf.keep_together(60)
    pdf.heading("Electronic signature", 12)
    pdf.rows(
        [
            ("Signed by", _signer_line(signature)),
            ("Signed at", utc(signature.signed_at)),
            ("Account", signature.signer_email),
            ("Signature record", f"{'S' if isinstance(signature, Signature) else 'U'}-{signature.id}"),
        ]
    )
    pdf.para(
        "Signed electronically under the U.S. ESIGN Act and the Uniform Electronic "
        "Transactions Act after consent to use electronic records. The certificate of "
        "completion lists the evidence; the SHA-256 of this file is kept by the CQMR "
        "program, so any change to it can be detected.",
        8,
    )
    return pdf.output_bytes()


@dataclass(frozen=True)
class CertificateEvent:
    at: datetime
    event: str
    detail: str


def certificate_pdf(
    signature: AnySignature,
    version: AgreementVersion,
    events: Sequence[CertificateEvent],
    disclosure_version: str,
    disclosure_sha256: str,
) -> bytes:
    """The certificate of completion: the document hash and every recorded event."""
    pdf = _Document(f"Certificate of completion - signature record {signature.id}", signature.signed_at)
    pdf.heading("Certificate of completion")
    pdf.para(f"{version.title} was signed electronically.", 11)
    pdf.ln(3)
    pdf.heading("Document", 12)
    pdf.rows(
        [
            ("Agreement", version.title),
            ("Version", f"{version.display_version} (id {version.id})"),
            ("Published", utc(version.published_at)),
            ("Document SHA-256", signature.content_sha256),
            ("Signed copy SHA-256", signature.signed_copy_sha256),
        ]
    )
    pdf.heading("Signer", 12)
    signer = [("Typed name", signature.typed_name)]
    if isinstance(signature, Signature):
        signer += [
            ("Title", signature.signer_title),
            ("Organization", f"{signature.organization_name} (id {signature.organization_id})"),
        ]
    signer += [("Account", signature.signer_email), ("Roles at signing", signature.signer_roles or "-")]
    pdf.rows(signer)
    pdf.heading("Evidence", 12)
    evidence = [
        ("Consent record", f"{signature.consent_id}, disclosure version {disclosure_version}"),
        ("Disclosure SHA-256", disclosure_sha256),
        ("IP address", signature.ip_address or "-"),
        ("User agent", signature.user_agent or "-"),
        ("Session (SHA-256)", signature.session_hash or "-"),
    ]
    if isinstance(signature, Signature):
        if signature.passkey_id is not None:
            evidence.append(("Second factor", f"passkey {signature.passkey_id}, user verified"))
        else:
            evidence.append(("Second factor", f"TOTP code accepted for time step {signature.totp_step}"))
    pdf.rows(evidence)
    pdf.heading("Events", 12)
    for item in events:
        pdf.set_font(pdf_fonts.FAMILY, "B", 9)
        pdf.cell(52, 5, pdf.unicode(utc(item.at)))
        pdf.multi_cell(0, 5, pdf.unicode(item.event), new_x="LMARGIN", new_y="NEXT")
        pdf.set_x(pdf.l_margin + 52)
        pdf.set_font(pdf_fonts.FAMILY, "", 8)
        pdf.multi_cell(0, 4, pdf.unicode(item.detail), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.ln(3)
    pdf.para(
        "Check a signed copy or this certificate with the CQMR onboarding service's "
        '"Check a signed document" page, or `flask agreements verify FILE`.',
        8,
    )
    return pdf.output_bytes()
