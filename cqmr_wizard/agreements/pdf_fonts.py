"""Unicode fonts for the agreement PDFs, so that every signer's name prints as typed: Noto Sans
(Latin, Greek, Cyrillic, Vietnamese) with Noto Sans Arabic and Noto Sans CJK as fallbacks, from
Debian's fonts-noto-core and fonts-noto-cjk packages (`make system-deps` installs them)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF

FAMILY = "NotoSans"
NOTO = Path("/usr/share/fonts/truetype/noto")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto")
MAIN = {
    "": NOTO / "NotoSans-Regular.ttf",
    "B": NOTO / "NotoSans-Bold.ttf",
    "I": NOTO / "NotoSans-Italic.ttf",
    "BI": NOTO / "NotoSans-BoldItalic.ttf",
}
ARABIC = {"": NOTO / "NotoSansArabic-Regular.ttf", "B": NOTO / "NotoSansArabic-Bold.ttf"}
CJK = {"": NOTO_CJK / "NotoSansCJK-Regular.ttc", "B": NOTO_CJK / "NotoSansCJK-Bold.ttc"}
CJK_FACE = 2  # the collection's Simplified Chinese face; every face holds all unified ideographs

ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
CJK_RANGES = (
    (0x2E80, 0x2FDF),
    (0x3000, 0x30FF),
    (0x3100, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0xFF00, 0xFFEF),
    (0x20000, 0x3134F),
)


class FontMissing(RuntimeError):
    """A font file the PDFs need is not installed."""


def _add(pdf: FPDF, family: str, files: dict[str, Path], **options: int) -> None:
    for style, path in files.items():
        if not path.exists():
            raise FontMissing(
                f"{path} is missing: install the Debian packages fonts-noto-core and "
                "fonts-noto-cjk (`make system-deps`)."
            )
        pdf.add_font(family, style, str(path), **options)


def install(pdf: FPDF) -> None:
    """Give a new document the main font; fallbacks come when text needs them (see `cover`)."""
    _add(pdf, FAMILY, MAIN)
    pdf.cqmr_fallbacks = []


def _uses(text: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= ord(c) <= high for c in text for low, high in ranges)


def cover(pdf: FPDF, text: str | None) -> str:
    """`text` in NFC, after giving the document the fallback fonts (and, for Arabic, the text
    shaping) it needs; each font is added once per document."""
    text = unicodedata.normalize("NFC", text or "")
    added = False
    if "NotoSansArabic" not in pdf.cqmr_fallbacks and _uses(text, ARABIC_RANGES):
        _add(pdf, "NotoSansArabic", ARABIC)
        pdf.cqmr_fallbacks.append("NotoSansArabic")
        pdf.set_text_shaping(True)  # joining forms and right-to-left order
        added = True
    if "NotoSansCJK" not in pdf.cqmr_fallbacks and _uses(text, CJK_RANGES):
        _add(pdf, "NotoSansCJK", CJK, collection_font_number=CJK_FACE)
        pdf.cqmr_fallbacks.append("NotoSansCJK")
        added = True
    if added:
        pdf.set_fallback_fonts(pdf.cqmr_fallbacks, exact_match=False)
    return text
