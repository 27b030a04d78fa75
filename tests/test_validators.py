"""Format checks for identifiers, phone numbers, ZIP codes, email addresses and paths."""

import pytest

from cqmr_wizard.onboarding.validators import normalise_ein, normalise_phone, normalise_zip, npi_is_valid
from cqmr_wizard.security import safe_next_path


@pytest.mark.parametrize(
    "value, expected",
    [
        ("93-1234567", "93-1234567"),
        ("931234567", "93-1234567"),
        (" 93 - 1234567 ", "93-1234567"),
        ("01-0000001", "01-0000001"),
        ("99-9999999", "99-9999999"),
        ("00-1234567", None),  # prefixes the IRS never issues
        ("07-1234567", None),
        ("49-1234567", None),
        ("69-1234567", None),
        ("89-1234567", None),
        ("96-1234567", None),
        ("93-123456", None),
        ("93-12345678", None),
        ("93–1234567", None),  # an en dash is not a hyphen
        ("ab-cdefghi", None),
        ("", None),
    ],
)
def test_ein(value, expected):
    assert normalise_ein(value) == expected


@pytest.mark.parametrize(
    "value, valid",
    [
        ("1234567893", True),  # CMS's published example
        ("1245319599", True),
        ("1234567890", False),  # wrong check digit
        ("123456789", False),
        ("12345678931", False),
        ("12345678a3", False),
        ("", False),
    ],
)
def test_npi_check_digit(value, valid):
    assert npi_is_valid(value) is valid


@pytest.mark.parametrize(
    "value, expected",
    [
        ("503-555-0100", "(503) 555-0100"),
        ("(503) 555-0100", "(503) 555-0100"),
        ("503.555.0100", "(503) 555-0100"),
        ("+1 503 555 0100", "(503) 555-0100"),
        ("15035550100", "(503) 555-0100"),
        ("503-555-0100 x12", "(503) 555-0100 x12"),
        ("503-555-0100 ext. 4", "(503) 555-0100 x4"),
        ("503-555-0100 extension 123456", "(503) 555-0100 x123456"),
        ("103-555-0100", None),  # area codes never start with 0 or 1
        ("503-155-0100", None),  # nor do exchanges
        ("555-0100", None),
        ("503-555-01000", None),
        ("503-555-CALL", None),
        ("503-555-0100 ext", None),
        ("", None),
    ],
)
def test_phone(value, expected):
    assert normalise_phone(value) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ("97301", "97301"),
        (" 97301-1234 ", "97301-1234"),
        ("973011234", "97301-1234"),
        ("9730", None),
        ("97301-12", None),
        ("ABCDE", None),
    ],
)
def test_zip(value, expected):
    assert normalise_zip(value) == expected


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/tasks", "/tasks"),
        ("/tasks?", "/tasks"),
        ("/onboarding/details?return=check", "/onboarding/details?return=check"),
        ("/", "/"),
        ("https://evil.example/", None),
        ("//evil.example/", None),
        ("///evil.example/", None),
        ("/\\evil.example/", None),
        ("\\\\evil.example", None),
        ("/\t/evil.example", None),
        ("javascript:alert(1)", None),
        ("tasks", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next_path(target, expected):
    assert safe_next_path(target) == expected
