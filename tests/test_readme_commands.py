"""Every `flask --app wsgi …` command the README shows, run as a person runs it: through Click's
runner with no SERVER_NAME (no request, no URL adapter), and as a real process on a fresh
instance folder. Links in mail must come out absolute and right without a request."""

from __future__ import annotations

import io
import os
import re
import secrets
import subprocess
import sys
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from cqmr_wizard import create_app
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AgreementUpload

from .agreement_helpers import MIHIN, OPA, hidden_fields, load_agreements, signed_in_signer, tiny_pdf
from .conftest import ON_POSTGRES, POSTGRES_URL
from .operator_support import make_org

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "cqmr_wizard" / "agreements" / "sample_documents"
FLASK = str(Path(sys.executable).parent / "flask")

# Each command the README shows, with the arguments these tests give it.
COMMANDS = {
    ("db", "upgrade"): [],
    ("purge", None): [],
    ("operators", "create"): ["alex@oha.example", "--name", "Alex Rivera"],
    ("operators", "list"): [],
    ("operators", "revoke"): ["alex@oha.example"],
    ("reminders", "send"): [],
    ("agreements", "load"): [str(SAMPLES)],
    ("agreements", "uploads"): [],
    ("agreements", "verify"): ["{pdf}"],
    ("agreements", "verify-upload"): ["{upload}"],
    ("agreements", "reject-upload"): ["{other_upload}", "--reason", "The signature page is missing."],
    ("outbox", "deliver"): [],
    ("outbox", "failed"): [],
    ("outbox", "retry"): ["--all"],
    ("audit", "verify"): [],
    ("audit", "seal"): [],
    ("audit", "checkpoint"): [],
    ("provisioning", "sync"): [],
    ("provisioning", "status"): [],
    ("progress", "rebuild"): [],
    ("progress", "verify"): [],
    ("mfa", "rotate-key"): [],
}


def readme_commands() -> set[tuple[str, str | None]]:
    shown = re.findall(r"flask --app wsgi ([a-z-]+)(?: ([a-z-]+))?", (ROOT / "README.md").read_text())
    return {(group, sub) if (group, sub) in COMMANDS else (group, None) for group, sub in shown}


def test_this_file_runs_every_command_the_readme_shows():
    assert readme_commands() <= set(COMMANDS), "add the README's new commands to COMMANDS"


def absolute_links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


def test_the_commands_without_server_name(app_factory, mailbox, tmp_path):
    app = app_factory(SERVER_NAME=None)
    runner = app.test_cli_runner()
    created = runner.invoke(args=["operators", "create", *COMMANDS[("operators", "create")]])
    assert created.exit_code == 0, created.output
    assert "Operator account created for alex@oha.example" in created.output
    [link] = [
        line for line in absolute_links(mailbox.last_to("alex@oha.example").get_payload(decode=True).decode())
    ]
    assert link.startswith(app.config["LINK_BASE_OUTSIDE_REQUESTS"] + "/reset-password/")

    stalled = make_org(app, "Quiet Clinic", members=1, inactive_days=30)
    sent = runner.invoke(args=["reminders", "send"])
    assert sent.exit_code == 0, sent.output
    assert "1 sent" in sent.output
    reminder = mailbox.last_to(f"m0-{stalled}@example.org").get_payload(decode=True).decode()
    assert app.config["LINK_BASE_OUTSIDE_REQUESTS"] + "/tasks" in absolute_links(reminder)

    load_agreements(app)
    client = app.test_client()
    signed_in_signer(app, client)
    for url in (OPA, MIHIN):
        form = client.get(url + "/upload")
        client.post(
            url + "/upload",
            data={**hidden_fields(form), "file": (io.BytesIO(tiny_pdf()), "signed.pdf")},
            content_type="multipart/form-data",
        )
    pdf = tmp_path / "some.pdf"
    pdf.write_bytes(tiny_pdf())
    with app.app_context():
        upload_id, other_upload = (
            str(i) for i in db.session.scalars(select(AgreementUpload.id).order_by("id"))
        )
    for (group, sub), args in COMMANDS.items():
        if (group, sub) in {("db", "upgrade"), ("operators", "create")}:
            continue  # the tables come from the fixtures; `create` ran above
        values = {"{pdf}": str(pdf), "{upload}": upload_id, "{other_upload}": other_upload}
        args = [values.get(a, a) for a in args]
        result = runner.invoke(args=[group, *([sub] if sub else []), *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            group,
            sub,
            result.output,
        )
        assert "Traceback" not in result.output and "Unable to build URLs" not in result.output, result.output
        if (group, sub) != ("agreements", "verify"):  # an unknown PDF is reported with exit 1
            assert result.exit_code == 0, (group, sub, result.output)


def test_links_follow_server_name_for_links_outside_a_request(app_factory, mailbox):
    app = app_factory(SERVER_NAME=None, SERVER_NAME_FOR_LINKS="https://onboarding.example.org/cqmr")
    result = app.test_cli_runner().invoke(args=["operators", "create", "alex@oha.example", "--name", "Alex"])
    assert result.exit_code == 0, result.output
    [link] = absolute_links(mailbox.last_to("alex@oha.example").get_payload(decode=True).decode())
    assert link.startswith("https://onboarding.example.org/cqmr/reset-password/")


def test_commands_beside_make_run_link_to_where_it_serves(app_factory, mailbox, tmp_path):
    # `make run PORT=8123` records its address in the instance folder (CQMR_INSTANCE_PATH, which
    # app_factory set); a command run in another shell then mails links to that port.
    made = subprocess.run(
        ["make", "--no-print-directory", "serving-url", "PORT=8123"], cwd=ROOT, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "instance" / "serving-url").read_text() == "http://127.0.0.1:8123\n"
    app = app_factory(SERVER_NAME=None)
    assert app.config["LINK_BASE_OUTSIDE_REQUESTS"] == "http://127.0.0.1:8123"
    result = app.test_cli_runner().invoke(args=["operators", "create", "alex@oha.example", "--name", "Alex"])
    assert result.exit_code == 0, result.output
    [link] = absolute_links(mailbox.last_to("alex@oha.example").get_payload(decode=True).decode())
    assert link.startswith("http://127.0.0.1:8123/reset-password/")
    # A configured base wins over the recorded one.
    configured = app_factory(SERVER_NAME=None, LINK_BASE_OUTSIDE_REQUESTS="http://wizard.internal:9000")
    assert configured.config["LINK_BASE_OUTSIDE_REQUESTS"] == "http://wizard.internal:9000"


@pytest.fixture
def fresh_instance(tmp_path):
    """A new instance folder and, on PostgreSQL, a new empty schema: what a first install has."""
    instance = tmp_path / "fresh-instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "SERVER_NAME", "DATABASE_URL"))}
    env |= {"CQMR_INSTANCE_PATH": str(instance), "CQMR_ENV": "development"}
    schema = None
    if ON_POSTGRES:
        schema = f"fresh_{secrets.token_hex(4)}"
        admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        env["DATABASE_URL"] = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    yield instance, env
    if schema:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [FLASK, "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def newest_mail(instance: Path, count: int) -> list:
    files = sorted((instance / "outbox").glob("*.eml"))
    assert len(files) == count, files
    return [message_from_bytes(f.read_bytes()) for f in files]


def test_the_commands_as_processes_on_a_fresh_instance(fresh_instance, tmp_path, monkeypatch):
    instance, env = fresh_instance
    assert flask(env, "db", "upgrade").returncode == 0
    assert flask(env, "agreements", "load", str(SAMPLES)).returncode == 0
    created = flask(env, "operators", "create", "alex@oha.example", "--name", "Alex Rivera")
    assert created.returncode == 0, created.stderr
    printed = [line for line in created.stdout.splitlines() if line.startswith("http")]
    assert printed and printed[0].startswith("http://127.0.0.1:5000/reset-password/")
    [mail] = newest_mail(instance, 1)
    assert printed[0] in mail.get_payload(decode=True).decode()
    assert "alex@oha.example" in flask(env, "operators", "list").stdout

    # An organization stalled for a month, as the database would hold it.
    for key in ("CQMR_INSTANCE_PATH", "CQMR_ENV", "DATABASE_URL"):
        if key in env:
            monkeypatch.setenv(key, env[key])
    app = create_app()
    make_org(app, "Quiet Clinic", members=1, inactive_days=30)
    with app.app_context():
        db.engine.dispose()
    reminded = flask(env, "reminders", "send")
    assert reminded.returncode == 0 and "1 sent" in reminded.stdout, reminded.stderr
    reminder = newest_mail(instance, 2)[1]
    assert "http://127.0.0.1:5000/tasks" in reminder.get_payload(decode=True).decode()

    pdf = tmp_path / "some.pdf"
    pdf.write_bytes(tiny_pdf())
    assert flask(env, "agreements", "verify", str(pdf)).returncode == 1  # not one of ours: said so
    for args in (
        ["agreements", "uploads"],
        ["outbox", "deliver"],
        ["outbox", "failed"],
        ["outbox", "retry", "--all"],
        ["audit", "verify"],
        ["audit", "checkpoint"],
        ["audit", "seal"],
        ["audit", "verify", "--checkpoint", str(instance / "audit-checkpoints.jsonl")],
        ["purge"],
        ["purge", "--dry-run"],
        ["operators", "revoke", "alex@oha.example"],
    ):
        result = flask(env, *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    missing = flask(env, "agreements", "verify-upload", "1")
    assert missing.returncode == 1 and "There is no upload 1" in missing.stderr
