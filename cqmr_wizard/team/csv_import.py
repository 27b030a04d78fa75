"""Bulk invitations from a CSV file (columns name, email, roles): every row is checked before
anything is created, and each problem is reported with its line number."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from ..models.organizations import ROLES
from ..refusals import Refusal
from .invitations import NewInvitation, email_problems

COLUMNS = ("name", "email", "roles")
ROLE_LOOKUP = {key: key for key in ROLES} | {name.lower(): key for key, (name, _) in ROLES.items()}


class CsvFileProblem(Refusal):
    """The file as a whole cannot be read."""

    field = "csv_file"


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


@dataclass(frozen=True)
class CsvResult:
    people: list[NewInvitation]
    problems: list[RowProblem]


def decode(data: bytes, max_bytes: int) -> str:
    """The file's text, if it is UTF-8 and small enough."""
    if not data.strip():
        raise CsvFileProblem("The selected file is empty")
    if len(data) > max_bytes:
        raise CsvFileProblem(
            f"The file must be smaller than {max_bytes // 1024} KB. Split it into several files."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise CsvFileProblem(
            "The file must be saved as CSV UTF-8; this one looks like UTF-16. "
            "In your spreadsheet, choose \u201cSave as\u201d, then \u201cCSV UTF-8\u201d."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvFileProblem(
            f"The file must be saved as CSV UTF-8; line {line} has characters in another "
            "encoding. In your spreadsheet, choose \u201cSave as\u201d, then \u201cCSV UTF-8\u201d."
        ) from None


def parse_roles(text: str) -> tuple[list[str], list[str]]:
    """Role keys named in a cell (keys or names, separated by ";"), and the unknown ones."""
    keys: list[str] = []
    unknown: list[str] = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key = ROLE_LOOKUP.get(part.lower())
        if key is None:
            unknown.append(part)
        elif key not in keys:
            keys.append(key)
    return keys, unknown


def _rows(text: str, max_rows: int) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise CsvFileProblem("The file is not a CSV file with the columns name, email, roles") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise CsvFileProblem(
            f"The first line must name the columns name, email, roles; "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing."
        )
    index = {c: names.index(c) for c in COLUMNS}
    rows = []
    start = reader.line_num + 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= max_rows:
                raise CsvFileProblem(
                    f"The file has more than {max_rows} people. Split it into several files."
                )
            rows.append((line, {c: (record[i].strip() if i < len(record) else "") for c, i in index.items()}))
    except csv.Error as error:
        raise CsvFileProblem(f"Line {start} cannot be read as CSV: {error}") from None
    if not rows:
        raise CsvFileProblem("The file has a header line but nobody to invite")
    return rows


def _check_row(line: int, row: dict[str, str]) -> tuple[NewInvitation | None, list[RowProblem]]:
    problems = []
    name = row["name"]
    if not name:
        problems.append(RowProblem(line, "Enter the person's name"))
    elif len(name) > 200:
        problems.append(RowProblem(line, "The name must be 200 characters or fewer"))
    email = row["email"].lower()
    if not email:
        problems.append(RowProblem(line, "Enter the person's email address"))
    else:
        try:
            if len(email) > 254:
                raise EmailNotValidError()
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            problems.append(
                RowProblem(
                    line,
                    f"\u201c{row['email'][:80]}\u201d is not an email "
                    "address in the correct format, like name@example.org",
                )
            )
    roles, unknown = parse_roles(row["roles"])
    if unknown:
        known = "; ".join(name for name, _ in ROLES.values())
        problems.append(
            RowProblem(
                line,
                f"Unknown role{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(chr(8220) + u[:40] + chr(8221) for u in unknown)}: use {known}",
            )
        )
    elif not roles:
        problems.append(RowProblem(line, "Give at least one role"))
    if problems:
        return None, problems
    return NewInvitation(name, email, tuple(roles)), []


def read_invitations(data: bytes, organization_id: int, *, max_bytes: int, max_rows: int) -> CsvResult:
    """Check every row of an uploaded file; nothing is created here."""
    rows = _rows(decode(data, max_bytes), max_rows)
    people: list[NewInvitation] = []
    problems: list[RowProblem] = []
    first_line: dict[str, int] = {}
    lines: dict[str, int] = {}
    for line, row in rows:
        person, row_problems = _check_row(line, row)
        problems.extend(row_problems)
        if person is None:
            continue
        if person.email in first_line:
            problems.append(RowProblem(line, f"{person.email} is also on line {first_line[person.email]}"))
            continue
        first_line[person.email] = line
        lines[person.email] = line
        people.append(person)
    for email, message in email_problems(organization_id, lines).items():
        problems.append(RowProblem(lines[email], message))
    problems.sort(key=lambda p: p.line)
    return CsvResult(people, problems)
