"""Agreement texts: loading, immutable versions, hashes, the load command."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from sqlalchemy import select

from cqmr_wizard.agreements import documents
from cqmr_wizard.agreements.documents import DocumentError, parse_document
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AgreementVersion

from .agreement_helpers import SAMPLES, audit_events, load_agreements, publish_new_version


def versions(app) -> list[tuple[str, int, str]]:
    with app.app_context():
        return [
            (v.kind, v.version_number, v.content_sha256)
            for v in db.session.scalars(
                select(AgreementVersion).order_by(AgreementVersion.kind, AgreementVersion.version_number)
            )
        ]


def test_samples_load_once_and_are_marked_as_samples(app):
    load_agreements(app)
    first = versions(app)
    assert sorted(k for k, _, _ in first) == ["aua", "mihin_tos", "opa", "user_tos"]
    load_agreements(app)  # identical content: nothing new
    assert versions(app) == first
    with app.app_context():
        for version in db.session.scalars(select(AgreementVersion)):
            assert "SAMPLE" in version.version_label and "SAMPLE TEXT" in version.content_html
            # The stored hash is the SHA-256 of exactly the HTML the page shows.
            assert version.content_sha256 == hashlib.sha256(version.content_html.encode()).hexdigest()
    assert len(audit_events(app, "agreement.version_published")) == 4


def test_changed_text_publishes_a_new_version_and_keeps_the_old(app):
    load_agreements(app)
    old = dict((k, (n, h)) for k, n, h in versions(app))
    new_id = publish_new_version(app, "opa")
    rows = versions(app)
    assert [(k, n) for k, n, _ in rows if k == "opa"] == [("opa", 1), ("opa", 2)]
    with app.app_context():
        assert documents.latest_versions()["opa"].id == new_id
        assert (
            db.session.scalar(
                select(AgreementVersion).where(
                    AgreementVersion.kind == "opa", AgreementVersion.version_number == 1
                )
            ).content_sha256
            == old["opa"][1]
        )
    published = audit_events(app, "agreement.version_published")[-1]
    assert published["kind"] == "opa" and published["version_number"] == 2
    assert published["supersedes_version_id"] is not None


def test_raw_html_in_a_text_is_shown_not_run():
    doc = parse_document("---\nkind: aua\nversion: 1\ntitle: T\n---\nHello <script>alert(1)</script>\n")
    assert "<script>" not in doc.content_html and "&lt;script&gt;" in doc.content_html


@pytest.mark.parametrize(
    "text, problem",
    [
        ("no front matter", "front matter"),
        ("---\nkind: aua\ntitle: T\n---\nbody\n", "'version'"),
        ("---\nkind: nda\nversion: 1\ntitle: T\n---\nbody\n", "not one of"),
        ("---\nkind: aua\nversion: 1\ntitle: T\n---\n   \n", "no text"),
    ],
)
def test_bad_files_are_refused_with_the_reason(text, problem):
    with pytest.raises(DocumentError, match=problem):
        parse_document(text, "x.md")


def test_load_command_publishes_and_reports(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agreements", "load", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    assert result.output.count("published") == 4
    again = runner.invoke(args=["agreements", "load", str(SAMPLES)])
    assert again.exit_code == 0 and again.output.count("unchanged") == 4

    changed = tmp_path / "texts"
    shutil.copytree(SAMPLES, changed)
    (changed / "aua.md").write_text((changed / "aua.md").read_text() + "\nOne more promise.\n")
    result = runner.invoke(args=["agreements", "load", str(changed)])
    assert result.exit_code == 0
    assert "aua: published Version 2" in result.output and result.output.count("unchanged") == 3

    (changed / "bad.md").write_text("nothing here")
    result = runner.invoke(args=["agreements", "load", str(changed)])
    assert result.exit_code != 0 and "bad.md" in result.output
