"""`flask operators …`: the only way to create a registry operator account."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import OutboxMessage
from ..models.outbox import SENT
from . import services

operators_cli = AppGroup("operators", help="Registry operator accounts.")


@operators_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The operator's full name.")
def create_command(email: str, name: str) -> None:
    """Create an operator account and give its one-time set-password link."""
    try:
        user, link = services.create_operator(email, name)
    except services.OperatorError as error:
        raise click.ClickException(error.message) from None
    services.send_set_password(user, link)  # delivered right after its commit, in this process
    click.echo(f"Operator account created for {user.email}.")
    mail = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.summary.contains(f" to {user.email}:"))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if current_app.config.get("MAIL_SERVER") and mail is not None and mail.status == SENT:
        click.echo(
            "The set-password link was emailed to them. It can be used once, within "
            f"{int(current_app.config['EMAIL_TOKEN_TTL'].total_seconds() // 3600)} hours."
        )
    elif current_app.config.get("MAIL_SERVER"):
        error = mail.last_error if mail is not None else "not queued"
        click.echo(f"Could not mail the link ({error}); give it to them yourself:", err=True)
        click.echo(link)
    else:
        click.echo("Mail goes to the outbox folder, so here is the one-time set-password link:")
        click.echo(link)
    click.echo("At their first sign-in they set up two-step verification.")


@operators_cli.command("list")
def list_command() -> None:
    """List operator accounts."""
    found = services.operators()
    for user in found:
        state = "active" if user.password_hash else "password not yet set"
        click.echo(f"{user.email}\t{user.full_name}\t{state}")
    if not found:
        click.echo("No operator accounts.")


@operators_cli.command("revoke")
@click.argument("email")
def revoke_command(email: str) -> None:
    """Take away a user's operator role and end their sessions."""
    try:
        user = services.revoke_operator(email)
    except services.OperatorError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"{user.email} is no longer an operator.")
