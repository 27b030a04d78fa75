"""One small mail service: SMTP when MAIL_SERVER is set, otherwise .eml files in the outbox."""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template, url_for

from .models.base import utcnow

log = logging.getLogger(__name__)


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link for a mail, on SERVER_NAME_FOR_LINKS when set (never on a Host header
    an attacker could choose)."""
    base = current_app.config.get("SERVER_NAME_FOR_LINKS")
    if not base:
        return url_for(endpoint, _external=True, **values)
    if "://" not in base:
        base = f"{current_app.config['PREFERRED_URL_SCHEME']}://{base}"
    return base.rstrip("/") + url_for(endpoint, **values)


def send_mail(
    to: str,
    subject: str,
    template: str,
    *,
    attachments: list[tuple[str, bytes, str]] | None = None,
    **context: object,
) -> EmailMessage:
    """Render `templates/mail/<template>.txt` and deliver it to one recipient, with optional
    `attachments` as (filename, bytes, mimetype)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="cqmr.invalid")
    message.set_content(render_template(f"mail/{template}.txt", **context))
    for filename, data, mimetype in attachments or []:
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)

    if config.get("MAIL_SERVER"):
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        log.info("mail sent by SMTP: template=%s", template)
    else:
        outbox = Path(config["MAIL_OUTBOX"])
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        path.write_bytes(bytes(message))
        log.info("mail written to outbox: template=%s file=%s", template, path.name)
    return message
