"""`flask agreements …` commands: publish texts, check documents, review returned signed copies."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from ..extensions import db
from ..models import AgreementUpload, User
from .documents import DocumentError, load_directory
from .services import AgreementError
from .uploads import pending_uploads, reject_upload, verify_upload
from .verification import verify_document

agreements_cli = AppGroup("agreements", help="Agreement texts, signatures and signed copies.")


@agreements_cli.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def load_command(directory: Path) -> None:
    """Publish the agreement texts (*.md) in DIRECTORY; unchanged texts are left as they are."""
    try:
        results = load_directory(directory)
    except DocumentError as error:
        raise click.ClickException(str(error)) from None
    for document, version in results:
        if version is None:
            click.echo(f"{document.kind}: unchanged ({document.title})")
        else:
            click.echo(
                f"{document.kind}: published {version.display_version} of {version.title}"
                f" (SHA-256 {version.content_sha256})"
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
