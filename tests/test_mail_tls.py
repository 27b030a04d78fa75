"""Mail over SMTP with STARTTLS and a login, against a real aiosmtpd server that insists on both:
the wizard checks the server's certificate, sends its password only inside TLS, retries a
refused login instead of losing the mail, and never writes the password anywhere."""

from __future__ import annotations

import base64
import ipaddress
import logging
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.mail import send_mail
from cqmr_wizard.models import OutboxMessage
from cqmr_wizard.outbox import delivery

from .helpers import free_port

USER = "cqmr-mailer"
PASSWORD = "s3cret-Relay-Passw0rd"
BASE = timedelta(seconds=30)


def self_signed_certificate(directory) -> tuple:
    """A key and a self-signed certificate for localhost and 127.0.0.1, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test mail relay")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Relay:
    """What the relay saw: messages accepted, and each login attempt (user, accepted?, in TLS?)."""

    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, bool, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == PASSWORD.encode()
        )
        with self.lock:
            login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
            self.logins.append((login, ok, session.ssl is not None))
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope):
        if not session.authenticated or session.ssl is None:  # never without TLS and a login
            return "530 Authentication required"
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def relay(tmp_path):
    """An SMTP relay that requires STARTTLS and a login (only inside TLS)."""
    cert_path, key_path = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    seen = Relay()
    controller = Controller(
        seen,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=seen.authenticate,
        auth_require_tls=True,
    )
    controller.start()
    seen.port, seen.ca_file = controller.port, str(cert_path)
    yield seen
    controller.stop()


def tls_app(app_factory, relay, **overrides):
    settings = {
        "MAIL_PORT": relay.port,
        "MAIL_USE_TLS": True,
        "MAIL_TLS_CA_FILE": relay.ca_file,
        "MAIL_USERNAME": USER,
        "MAIL_PASSWORD": PASSWORD,
        "OUTBOX_DELIVERY": "worker",
        "OUTBOX_RETRY_BASE": BASE,
        **overrides,
    }
    return app_factory(**settings)


def queue_mail(app, to: str = "pat@example.org") -> None:
    with app.test_request_context():
        send_mail(to, "Hello over TLS", "password_changed", user={"full_name": "Pat"})
        db.session.commit()


def only_message(app) -> OutboxMessage:
    with app.app_context():
        [message] = db.session.scalars(select(OutboxMessage)).all()
        db.session.expunge(message)
        return message


def deliver(app) -> delivery.Outcome:
    with app.app_context():
        return delivery.deliver()


def test_mail_goes_through_starttls_and_a_login_to_a_server_whose_certificate_is_checked(app_factory, relay):
    app = tls_app(app_factory, relay)
    queue_mail(app)
    assert deliver(app).sent == 1
    assert [m["To"] for m in relay.messages] == ["pat@example.org"]
    assert relay.logins == [(USER, True, True)]  # one login, accepted, inside TLS
    assert only_message(app).status == "sent"


def test_a_server_whose_certificate_is_not_trusted_gets_neither_the_password_nor_the_mail(app_factory, relay):
    # Without MAIL_TLS_CA_FILE the system's authorities are trusted, and none signed this one.
    app = tls_app(app_factory, relay, MAIL_TLS_CA_FILE=None)
    queue_mail(app)
    outcome = deliver(app)
    assert (outcome.sent, outcome.retrying) == (0, 1)
    message = only_message(app)
    assert message.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in message.last_error
    assert relay.logins == [] and relay.messages == []


def test_a_refused_login_is_retried_not_lost_and_the_password_is_never_written(
    app_factory, relay, clock, caplog
):
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Passw0rd-for-relay"
    app = tls_app(app_factory, relay, MAIL_PASSWORD=wrong)
    queue_mail(app)
    assert deliver(app).retrying == 1
    message = only_message(app)
    assert message.status == "pending" and message.attempts == 1
    assert "SMTPAuthenticationError" in message.last_error and "535" in message.last_error
    # smtplib tries each mechanism the relay offers (PLAIN, then LOGIN): each refused, inside TLS.
    assert relay.logins and set(relay.logins) == {(USER, False, True)} and relay.messages == []
    listed = app.test_cli_runner().invoke(args=["outbox", "failed"]).output
    assert "SMTPAuthenticationError" in listed

    fixed = tls_app(app_factory, relay)  # the operator corrects the password
    assert deliver(fixed).sent == 0  # not due before the backoff has passed
    clock.advance(BASE.total_seconds())
    assert deliver(fixed).sent == 1
    assert [m["To"] for m in relay.messages] == ["pat@example.org"]
    assert only_message(fixed).status == "sent" and deliver(fixed).sent == 0

    secrets_written = [wrong, PASSWORD]
    for password in (wrong, PASSWORD):  # as AUTH PLAIN and AUTH LOGIN would carry it
        secrets_written += [base64.b64encode(f"\0{USER}\0{password}".encode()).decode()]
        secrets_written += [base64.b64encode(password.encode()).decode()]
    written = caplog.text + listed + (message.last_error or "")
    assert not [s for s in secrets_written if s in written]
