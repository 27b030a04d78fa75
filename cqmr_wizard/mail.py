"""Mail: `send_mail` renders a message into the outbox; the outbox's deliverer sends it after
commit (`outbox/mail_delivery.py`)."""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, url_for

from .outbox.queue import enqueue

# Line breaks of every kind and other control characters: none may reach a header.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link for a mail, on SERVER_NAME_FOR_LINKS when set (never on a Host header
    an attacker could choose). Works outside a request (commands, workers) too."""
    config = current_app.config
    base = config.get("SERVER_NAME_FOR_LINKS")
    if not base:
        if has_request_context():
            return url_for(endpoint, _external=True, **values)
        # Outside a request (and outside production, which requires SERVER_NAME_FOR_LINKS):
        # Flask's SERVER_NAME, else the address `make run` serves.
        base = config.get("SERVER_NAME") or config["LINK_BASE_OUTSIDE_REQUESTS"]
    if "://" not in base:
        base = f"{config['PREFERRED_URL_SCHEME']}://{base}"
    parts = urlsplit(base)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path.rstrip("/") or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def one_line(text: str) -> str:
    """Fold line breaks and control characters into single spaces, for a mail header."""
    return " ".join(_CONTROL.sub(" ", text).split())


def send_mail(
    to: str,
    subject: str,
    template: str,
    *,
    attachments: list[tuple[str, bytes, str]] | None = None,
    **context: object,
) -> EmailMessage:
    """Render `templates/mail/<template>.txt` for one recipient, with optional `attachments` as
    (filename, bytes, mimetype), and put it in the outbox of the current transaction: it leaves
    when the caller commits, and never if the caller rolls back."""
    if _CONTROL.search(to):
        raise ValueError("a mail recipient cannot contain control characters")
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = one_line(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="cqmr.invalid")
    message.set_content(render_template(f"mail/{template}.txt", **context))
    for filename, data, mimetype in attachments or []:
        maintype, _, subtype = mimetype.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)

    enqueue(
        "mail",
        {"template": template, "message": base64.b64encode(bytes(message)).decode("ascii")},
        summary=f"{template} to {to}: {message['Subject']}",
    )
    return message
