"""Format checks for US organization identifiers."""

from __future__ import annotations

import re

# IRS campus prefixes in use for EINs (other two-digit prefixes are never issued).
EIN_PREFIXES = frozenset(
    [
        f"{n:02d}"
        for n in [
            *range(1, 7),
            *range(10, 17),
            *range(20, 28),
            *range(30, 49),
            *range(50, 69),
            *range(71, 78),
            *range(80, 89),
            *range(90, 96),
            98,
            99,
        ]
    ]
)
# States, the District, territories and military post codes, with the names people look for.
US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands", "PR": "Puerto Rico",
    "VI": "U.S. Virgin Islands", "AA": "Armed Forces Americas", "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}  # fmt: skip


def normalise_ein(value: str) -> str | None:
    """Return the EIN as NN-NNNNNNN, or None if it is not a well-formed EIN."""
    match = re.fullmatch(r"\s*(\d{2})\s*-?\s*(\d{7})\s*", value or "")
    if not match or match.group(1) not in EIN_PREFIXES:
        return None
    return f"{match.group(1)}-{match.group(2)}"


def npi_is_valid(value: str) -> bool:
    """True for a 10-digit NPI whose check digit is right (Luhn with the 80840 prefix)."""
    if not re.fullmatch(r"\d{10}", value or ""):
        return False
    digits = [int(d) for d in "80840" + value[:9]]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(value[9])


def normalise_phone(value: str) -> str | None:
    """Return a US phone number as (NNN) NNN-NNNN (with any extension), or None."""
    text = (value or "").strip()
    match = re.fullmatch(r"(.*?)(?:\s*(?:x|ext\.?|extension)\s*(\d{1,6}))?", text, re.IGNORECASE)
    main, extension = match.group(1), match.group(2)
    if re.search(r"[^\d\s()+.\-]", main):
        return None
    digits = re.sub(r"\D", "", main)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return None
    formatted = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return f"{formatted} x{extension}" if extension else formatted


def normalise_zip(value: str) -> str | None:
    match = re.fullmatch(r"\s*(\d{5})(?:\s*-?\s*(\d{4}))?\s*", value or "")
    if not match:
        return None
    return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
