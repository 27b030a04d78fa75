"""RFC 6238 TOTP (SHA-1, 6 digits, 30 s), secrets encrypted at rest, and the set-up QR code."""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

import pyotp
import qrcode
from cryptography.fernet import Fernet, MultiFernet
from flask import current_app
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage

ALGORITHM = "SHA1"
DIGITS = 6
PERIOD = 30
# Accept the current step and one either side, never more.
DRIFT_STEPS = (0, -1, 1)
SECRET_LENGTH = 32  # base32 characters: 160 bits
CODE_PATTERN = re.compile(r"^\d{6}$")

SVG_NS = "http://www.w3.org/2000/svg"
# Pending credentials whose QR code a worker keeps drawn.
QR_CACHE_SIZE = 256


class KeyConfigurationError(RuntimeError):
    """MFA_ENCRYPTION_KEYS is missing or holds something that is not a Fernet key."""


def new_secret() -> str:
    """Return a fresh 160-bit base32 secret."""
    return pyotp.random_base32(length=SECRET_LENGTH)


def encryption_keys(value: str | None = None) -> list[Fernet]:
    """The configured Fernet keys, newest first."""
    raw = value if value is not None else current_app.config.get("MFA_ENCRYPTION_KEYS") or ""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise KeyConfigurationError("MFA_ENCRYPTION_KEYS is empty: give at least one Fernet key.")
    try:
        return [Fernet(p) for p in parts]
    except (ValueError, TypeError):
        raise KeyConfigurationError(
            "MFA_ENCRYPTION_KEYS must be comma-separated Fernet keys (urlsafe base64, 32 bytes), "
            "newest first."
        ) from None


def cipher() -> MultiFernet:
    """Encrypt with the newest key; decrypt with any configured key."""
    return MultiFernet(encryption_keys())


def encrypt(plaintext: str) -> str:
    """Encrypt a secret under the newest key."""
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str, ttl: int | None = None) -> str:
    """Decrypt a value encrypted under any configured key; raise InvalidToken otherwise."""
    return cipher().decrypt(token.encode(), ttl=ttl).decode()


def rotate(token: str) -> str:
    """Re-encrypt a value under the newest key."""
    return cipher().rotate(token.encode()).decode()


def time_step(when: datetime) -> int:
    """The RFC 6238 time step (counter) for a moment."""
    return int(when.timestamp()) // PERIOD


def normalise_code(value: str | None) -> str:
    """Drop the spaces and hyphens people type or paste inside a code."""
    return re.sub(r"[\s-]+", "", value or "")


@dataclass(frozen=True)
class Match:
    step: int
    offset: int  # -1: the previous step (device slow or typed late), +1: the next (device fast)


def match_code(secret: str, code: str, when: datetime) -> Match | None:
    """Return the step within ±1 of `when` whose code is `code`, if any."""
    if not CODE_PATTERN.match(code):
        return None
    otp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    now = time_step(when)
    found = None
    for offset in DRIFT_STEPS:
        # Compare against every candidate so the timing does not say which step matched.
        if hmac.compare_digest(otp.generate_otp(now + offset), code) and found is None:
            found = Match(now + offset, offset)
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI authenticator apps read (Key URI format), every parameter explicit."""
    label = f"{quote(issuer, safe='')}:{quote(account, safe='@')}"
    query = (
        f"secret={secret}&issuer={quote(issuer, safe='')}"
        f"&algorithm={ALGORITHM}&digits={DIGITS}&period={PERIOD}"
    )
    return f"otpauth://totp/{label}?{query}"


def grouped(secret: str, size: int = 4) -> str:
    """The secret in groups of four for typing by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


@lru_cache(maxsize=QR_CACHE_SIZE)
def _qr_symbol(uri: str) -> str:
    """The QR symbol of `uri` as SVG markup; drawn once per pending credential in each worker
    (the page is viewed again and again while the person finds their phone)."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=SvgPathImage
    )
    code.add_data(uri)
    code.make(fit=True)
    return code.make_image().to_string(encoding="unicode")


def qr_svg(uri: str, title: str) -> Markup:
    """An inline SVG QR code of `uri`, with no style attributes (CSP), labelled for screen readers."""
    svg = ET.fromstring(_qr_symbol(uri))  # noqa: S314  (our own generator's output, not input)
    for element in svg.iter():
        element.tag = str(element.tag).rpartition("}")[2]  # plain <svg>, as HTML writes it
        element.attrib.pop("class", None)
    svg.set("xmlns", SVG_NS)
    svg.set("width", "256")  # CSS sizes it; this is for when the style sheet is missing
    svg.set("height", "256")
    svg.set("role", "img")
    svg.set("aria-labelledby", "qr-title")
    svg.set("focusable", "false")
    label = ET.Element("title", {"id": "qr-title"})
    label.text = title
    svg.insert(0, label)
    # ElementTree escapes the one piece of text (the title) and every attribute value.
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704
