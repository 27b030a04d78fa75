"""Sending one queued mail (the outbox's "mail" handler): by SMTP when MAIL_SERVER is set,
otherwise as an .eml file in MAIL_OUTBOX. Only the outbox's deliverer calls it, after commit."""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
import uuid
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from flask import current_app

from ..models.base import utcnow

log = logging.getLogger(__name__)


def deliver_mail(payload: dict[str, Any]) -> None:
    """Send one rendered mail; raise if the mail server refuses it or does not answer."""
    config = current_app.config
    raw = base64.b64decode(payload["message"])
    if config.get("MAIL_SERVER"):
        message = message_from_bytes(raw, policy=policy.SMTP)
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config.get("MAIL_USE_TLS"):
                # smtplib's own default context does not check the server's certificate: a
                # context that does, against the system's CAs or MAIL_TLS_CA_FILE's.
                smtp.starttls(context=ssl.create_default_context(cafile=config.get("MAIL_TLS_CA_FILE")))
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
        log.info(
            "mail sent by SMTP: template=%s",
            payload.get("template"),
            extra={"template": payload.get("template")},
        )
        return
    outbox = Path(config["MAIL_OUTBOX"])
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(raw)
    log.info(
        "mail written to outbox: template=%s file=%s",
        payload.get("template"),
        path.name,
        extra={"template": payload.get("template")},
    )
