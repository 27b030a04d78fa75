"""`flask agreements …` commands: publish texts, check documents, review returned signed copies."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..extensions import db
from ..models import AgreementUpload, User
from ..models.base import utcnow
from ..template_filters import when_text
from .documents import DocumentError, load_directory
from .services import AgreementError
from .uploads import pending_uploads, reject_upload, verify_upload
from .verification import verify_document
from .windows import end_of_day

agreements_cli = AppGroup("agreements", help="Agreement texts, signatures and signed copies.")


def deadline(sign_by: datetime | None, sign_within: int | None, now: bool) -> datetime | None:
    """The date a new version must be signed by, from the options (at most one of them)."""
    if sum((sign_by is not None, sign_within is not None, now)) > 1:
        raise click.UsageError("Give at most one of --sign-by, --sign-within and --now.")
    if now:
        return None
    if sign_by is not None:
        moment = end_of_day(sign_by.date())
        if moment <= utcnow():
            raise click.BadParameter(
                "the date has passed; use --now for an urgent change", param_hint="--sign-by"
            )
        return moment
    if sign_within is not None:
        return utcnow() + timedelta(days=sign_within)
    return utcnow() + current_app.config["AGREEMENT_RESIGN_WINDOW"]


@agreements_cli.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sign-by", type=click.DateTime(["%Y-%m-%d"]), help="Date (YYYY-MM-DD, Pacific) to sign by.")
@click.option("--sign-within", type=click.IntRange(1, 3650), help="Days from now to sign a new version.")
@click.option("--now", "at_once", is_flag=True, help="In force at once: earlier signatures stop counting.")
@click.option("--summary", help="What changed, in plain words (shown to signers and in reminders).")
def load_command(
    directory: Path, sign_by: datetime | None, sign_within: int | None, at_once: bool, summary: str | None
) -> None:
    """Publish the agreement texts (*.md) in DIRECTORY; unchanged texts are left as they are. A
    new version of an earlier text is to be signed within AGREEMENT_RESIGN_WINDOW unless told."""
    moment = deadline(sign_by, sign_within, at_once)
    try:
        results = load_directory(directory, sign_by=moment, summary=summary)
    except DocumentError as error:
        raise click.ClickException(str(error)) from None
    for document, version in results:
        if version is None:
            click.echo(f"{document.kind}: unchanged ({document.title})")
            continue
        click.echo(
            f"{document.kind}: published {version.display_version} of {version.title}"
            f" (SHA-256 {version.content_sha256})"
        )
        if version.version_number > 1:
            click.echo(
                f"  sign by: {when_text(version.sign_by, time=True)}"
                if version.sign_by
                else "  sign by: now (earlier signatures no longer count)"
            )


@agreements_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_command(file: Path) -> None:
    """Check a signed copy or certificate against the stored hashes; exit 1 if it does not match."""
    result = verify_document(file.read_bytes())
    click.echo(result.summary, err=not result.matched)
    if not result.matched:
        raise SystemExit(1)


def _upload(upload_id: int) -> AgreementUpload:
    upload = db.session.get(AgreementUpload, upload_id)
    if upload is None:
        raise click.ClickException(f"There is no upload {upload_id}.")
    return upload


def _operator(email: str | None) -> User | None:
    if not email:
        return None
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"There is no user {email}.")
    return user


@agreements_cli.command("uploads")
def uploads_command() -> None:
    """List the returned signed copies waiting for review."""
    waiting = pending_uploads()
    for upload in waiting:
        click.echo(
            f"{upload.id}\t{upload.uploaded_at:%Y-%m-%d %H:%M} UTC\t"
            f"{upload.organization.legal_name}\t{upload.version.title} "
            f"{upload.version.display_version}\t{upload.original_filename}"
        )
    click.echo(f"{len(waiting)} upload(s) waiting for review.")


@agreements_cli.command("verify-upload")
@click.argument("upload_id", type=int)
@click.option("--operator", "operator_email", help="Email of the registry operator reviewing it.")
def verify_upload_command(upload_id: int, operator_email: str | None) -> None:
    """Accept returned signed copy UPLOAD_ID: the agreement then counts as signed."""
    upload = _upload(upload_id)
    try:
        verify_upload(upload, _operator(operator_email))
    except AgreementError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Upload {upload_id} verified.")


@agreements_cli.command("reject-upload")
@click.argument("upload_id", type=int)
@click.option("--reason", required=True, help="Why it cannot be accepted (mailed to the signer).")
@click.option("--operator", "operator_email", help="Email of the registry operator reviewing it.")
def reject_upload_command(upload_id: int, reason: str, operator_email: str | None) -> None:
    """Refuse returned signed copy UPLOAD_ID and mail the signer the reason."""
    upload = _upload(upload_id)
    try:
        reject_upload(upload, _operator(operator_email), reason)
    except AgreementError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Upload {upload_id} rejected; the signer has been told why.")
