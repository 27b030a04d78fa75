"""One check for every uploaded PDF (returned agreements, training materials): it must parse
as a PDF with pages, and carry no active content a viewer would run or open."""

from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

PDF_MAGIC = b"%PDF-"

# Keys whose presence means content that runs, opens or carries other files, and what to call it.
ACTIVE_KEYS = {
    "/JavaScript": "JavaScript",
    "/JS": "JavaScript",
    "/OpenAction": "an action that runs when it opens",  # unless it only names a page to show
    "/AA": "actions that run on events",
    "/Launch": "a command that starts other programs",
    "/EmbeddedFiles": "embedded files",
    "/EmbeddedFile": "embedded files",
    "/XFA": "an XFA form",
}
# Action types (the /S of an action dictionary) that are refused wherever they appear.
ACTIVE_ACTIONS = {"/JavaScript": "JavaScript", "/Launch": "a command that starts other programs"}


class UnsafePdf(ValueError):
    """The file is not a PDF this service accepts; `message` says why, for the person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_pdf(data: bytes) -> int:
    """Refuse anything but a readable PDF without active content; return its page count."""
    if not data:
        raise UnsafePdf("The selected file is empty")
    if not data.startswith(PDF_MAGIC):
        raise UnsafePdf("The selected file must be a PDF")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UnsafePdf("The PDF is password-protected. Save it without a password and upload it again")
        pages = len(reader.pages)
        found = active_content(reader)
    except UnsafePdf:
        raise
    except Exception:  # pypdf raises many kinds of error on a damaged or fake file
        raise UnsafePdf(
            "The file could not be read as a PDF. It may be damaged; save it as a PDF again"
        ) from None
    if pages < 1:
        raise UnsafePdf("The PDF has no pages")
    if found:
        raise UnsafePdf(
            f"The PDF contains {' and '.join(sorted(found))}, which this service does not accept. "
            "Print it to a new PDF, or scan the paper copy, and upload that"
        )
    return pages


def active_content(reader: PdfReader) -> set[str]:
    """What active content any object reachable from the trailer carries."""
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack: list[object] = [reader.trailer]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                if key in ACTIVE_KEYS and not (key == "/OpenAction" and _is_destination(value)):
                    found.add(ACTIVE_KEYS[key])
                if key == "/S" and isinstance(value, NameObject) and value in ACTIVE_ACTIONS:
                    found.add(ACTIVE_ACTIONS[value])
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return found


def _is_destination(value: object) -> bool:
    """An /OpenAction that only says which page to show (an array), not an action to run."""
    return isinstance(value.get_object() if isinstance(value, IndirectObject) else value, ArrayObject)
