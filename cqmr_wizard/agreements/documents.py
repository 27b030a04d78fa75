"""Agreement texts: the kinds, reading Markdown files, publishing immutable versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import markdown
import nh3
from sqlalchemy import func, select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import AgreementVersion, Signature, UserSignature

SAMPLE_DIRECTORY = Path(__file__).parent / "sample_documents"


@dataclass(frozen=True)
class AgreementKind:
    key: str
    title: str
    scope: str  # "organization": signed once for the organization; "user": by each user
    slug: str


KINDS: dict[str, AgreementKind] = {
    "opa": AgreementKind(
        "opa", "CQMR Organizational Participation Agreement", "organization", "participation-agreement"
    ),
    "mihin_tos": AgreementKind("mihin_tos", "MiHIN Terms of Service", "organization", "mihin-terms"),
    "aua": AgreementKind("aua", "Authorized User Agreement", "user", "authorized-user-agreement"),
    "user_tos": AgreementKind("user_tos", "Terms of Service", "user", "terms-of-service"),
}
ORGANIZATION_KINDS = tuple(k for k, v in KINDS.items() if v.scope == "organization")
USER_KINDS = tuple(k for k, v in KINDS.items() if v.scope == "user")
BY_SLUG = {kind.slug: kind for kind in KINDS.values()}


class DocumentError(ValueError):
    """An agreement file that cannot be published, with the reason."""


@dataclass(frozen=True)
class SourceDocument:
    kind: str
    version_label: str
    title: str
    body: str
    content_html: str
    content_sha256: str


def sha256_hex(data: bytes | str) -> str:
    """Return the SHA-256 of bytes (or of a string's UTF-8) in hex."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


# What agreement Markdown may become: text structure and plain links, nothing that runs.
ALLOWED_TAGS = {
    *("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "hr", "br"),
    *("strong", "em", "b", "i", "code", "pre", "a"),
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
ALLOWED_URL_SCHEMES = {"https", "http", "mailto"}


def render_markdown(body: str) -> str:
    """Render agreement Markdown to HTML; raw HTML in the source is shown as text, never run,
    and the result keeps only an allow-list of tags, attributes and link schemes (nh3)."""
    md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    html = nh3.clean(
        md.convert(body).strip(),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=None,
    )
    return html + "\n"


def parse_document(source: str, name: str = "document") -> SourceDocument:
    """Read a Markdown file with a `---` front matter block giving kind, version and title."""
    text = source.replace("\r\n", "\n").lstrip("\ufeff")
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise DocumentError(f"{name}: begins with no front matter (a block between two '---' lines)")
    header, body = text[4:].split("\n---\n", 1)
    meta: dict[str, str] = {}
    for line in header.splitlines():
        if line.strip():
            key, sep, value = line.partition(":")
            if not sep:
                raise DocumentError(f"{name}: front matter line {line!r} is not 'key: value'")
            meta[key.strip().lower()] = value.strip()
    for key in ("kind", "version", "title"):
        if not meta.get(key):
            raise DocumentError(f"{name}: front matter has no {key!r}")
    if meta["kind"] not in KINDS:
        raise DocumentError(f"{name}: kind {meta['kind']!r} is not one of {', '.join(KINDS)}")
    if not body.strip():
        raise DocumentError(f"{name}: has no text after the front matter")
    html = render_markdown(body)
    return SourceDocument(
        meta["kind"], meta["version"][:64], meta["title"][:200], body.strip() + "\n", html, sha256_hex(html)
    )


def latest_versions(kinds: tuple[str, ...] = tuple(KINDS)) -> dict[str, AgreementVersion]:
    """The current (newest) version of each kind that has one, in one query."""
    newest = (
        select(AgreementVersion.kind, func.max(AgreementVersion.version_number).label("n"))
        .group_by(AgreementVersion.kind)
        .subquery()
    )
    rows = db.session.scalars(
        select(AgreementVersion)
        .join(
            newest, (AgreementVersion.kind == newest.c.kind) & (AgreementVersion.version_number == newest.c.n)
        )
        .where(AgreementVersion.kind.in_(kinds))
    ).all()
    return {row.kind: row for row in rows}


def publish(
    document: SourceDocument,
    actor_id: int | None = None,
    *,
    sign_by: datetime | None = None,
    summary: str | None = None,
) -> AgreementVersion | None:
    """Publish a document as a new version of its kind; None if its content is already current.
    A version replacing an earlier one may give a date to sign it by (`sign_by`): until then an
    earlier signature keeps the agreement in force; without one (or for a first version) it is
    in force at once."""
    current = latest_versions((document.kind,)).get(document.kind)
    if (
        current is not None
        and current.content_sha256 == document.content_sha256
        and current.title == document.title
    ):
        return None
    version = AgreementVersion(
        kind=document.kind,
        version_number=(current.version_number + 1) if current else 1,
        version_label=document.version_label,
        title=document.title,
        body=document.body,
        content_html=document.content_html,
        content_sha256=document.content_sha256,
        sign_by=sign_by if current is not None else None,
        change_summary=(summary or "").strip() or None,
    )
    db.session.add(version)
    db.session.flush()
    details = {
        "kind": document.kind,
        "version_id": version.id,
        "version_number": version.version_number,
        "version_label": version.version_label,
        "content_sha256": version.content_sha256,
        "supersedes_version_id": current.id if current else None,
        "sign_by": version.sign_by.isoformat() if version.sign_by else None,
        "change_summary": version.change_summary,
    }
    if current is not None:
        model = Signature if KINDS[document.kind].scope == "organization" else UserSignature
        details["signatures_made_stale"] = db.session.scalar(
            select(func.count())
            .select_from(model)
            .join(AgreementVersion)
            .where(AgreementVersion.kind == document.kind)
        )
    audit.record(AuditEventType.AGREEMENT_VERSION_PUBLISHED, actor_id=actor_id, details=details)
    db.session.commit()
    return version


def load_directory(
    directory: Path, *, sign_by: datetime | None = None, summary: str | None = None
) -> list[tuple[SourceDocument, AgreementVersion | None]]:
    """Publish every `*.md` agreement in a directory (each new version of an earlier one to be
    signed by `sign_by`); each result's version is None if unchanged."""
    files = sorted(Path(directory).glob("*.md"))
    if not files:
        raise DocumentError(f"{directory}: holds no .md agreement files")
    documents = [parse_document(path.read_text(encoding="utf-8"), path.name) for path in files]
    kinds = [d.kind for d in documents]
    if len(set(kinds)) != len(kinds):
        raise DocumentError(f"{directory}: holds more than one file for the same kind")
    return [(document, publish(document, sign_by=sign_by, summary=summary)) for document in documents]


def load_samples() -> None:
    """Publish the sample texts shipped with the app (development and tests)."""
    load_directory(SAMPLE_DIRECTORY)
