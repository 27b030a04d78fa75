"""`flask mfa …` commands for operators."""

from __future__ import annotations

import click
from cryptography.fernet import InvalidToken
from flask.cli import AppGroup
from sqlalchemy import select

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..models import TotpCredential
from . import totp

mfa_cli = AppGroup("mfa", help="Two-step verification administration.")


@mfa_cli.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True, help="Rows per transaction.")
def rotate_key(batch_size: int) -> None:
    """Re-encrypt every TOTP secret under the newest key in MFA_ENCRYPTION_KEYS.

    Put the new key first in MFA_ENCRYPTION_KEYS (keeping the old ones after it), restart the
    app, run this, then remove the old keys once no session older than
    SESSION_ABSOLUTE_TIMEOUT remains."""
    count = 0
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(TotpCredential)
            .where(TotpCredential.id > last_id)
            .order_by(TotpCredential.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        for row in rows:
            try:
                row.secret_encrypted = totp.rotate(row.secret_encrypted)
            except InvalidToken:
                db.session.rollback()
                raise click.ClickException(
                    f"The secret of credential {row.id} cannot be decrypted with any key in "
                    "MFA_ENCRYPTION_KEYS; nothing in this batch was changed. Add the key it "
                    "was encrypted with (after the new one) and run this again."
                ) from None
            last_id = row.id
            count += 1
        db.session.commit()
    audit.record(AuditEventType.MFA_KEY_ROTATED, details={"credentials": count})
    db.session.commit()
    click.echo(f"Re-encrypted {count} TOTP secret{'s' if count != 1 else ''} under the newest key.")
