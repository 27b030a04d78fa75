"""Secrets at rest: TOTP secrets encrypted under rotatable keys; no secret or recovery code in
any table or log."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select

from cqmr_wizard.config import ConfigurationError
from cqmr_wizard.extensions import db
from cqmr_wizard.models import TotpCredential

from .builders import make_user
from .helpers import fresh_code, page_text, sign_in, stored_secret, submit
from .mfa_helpers import (
    RECOVERY_CHALLENGE,
    enroll_through_pages,
    events,
    password_only,
    post_code,
    wrong_code,
)

EMAIL = "pat@example.org"


def stored_tokens(app) -> dict[int, str]:
    with app.app_context():
        return {row.user_id: row.secret_encrypted for row in db.session.scalars(select(TotpCredential))}


def database_text(app) -> str:
    """Every value in every table, as text."""
    parts = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_the_secret_is_stored_encrypted(app, client):
    user_id = make_user(app, mfa=False)
    password_only(client)
    secret, _, _ = enroll_through_pages(client, app)
    token = stored_tokens(app)[user_id]
    assert secret not in token and secret.lower() not in token
    key = app.config["MFA_ENCRYPTION_KEYS"]
    assert Fernet(key).decrypt(token.encode()).decode() == secret
    with pytest.raises(InvalidToken):
        Fernet(Fernet.generate_key()).decrypt(token.encode())


def test_no_table_and_no_log_holds_a_secret_or_a_recovery_code(app, client, mailbox, caplog):
    caplog.set_level(logging.DEBUG)
    make_user(app, mfa=False)
    password_only(client)
    secret, codes, _ = enroll_through_pages(client, app)
    submit(client, "/sign-out", page="/tasks")
    assert sign_in(client).location == "/tasks"
    submit(client, "/sign-out", page="/tasks")
    password_only(client)
    assert post_code(client, codes[3], url=RECOVERY_CHALLENGE, field="recovery_code").status_code == 302
    submit(client, "/sign-out", page="/tasks")
    # A used recovery code and a wrong TOTP code are refused, audited and mailed about.
    other = app.test_client()
    password_only(other)
    assert post_code(other, codes[3], url=RECOVERY_CHALLENGE, field="recovery_code").status_code == 400
    assert post_code(other, wrong_code(secret)).status_code == 400

    dump = database_text(app)
    logs = caplog.text
    mails = "\n".join(m.as_string() for m in mailbox.messages)
    grouped = " ".join(secret[i : i + 4] for i in range(0, 32, 4))
    for haystack in (dump, logs, mails):
        for needle in (secret, secret.lower(), grouped):
            assert needle not in haystack
        for code in codes:
            assert code not in haystack and code.replace("-", "") not in haystack
    assert events(app, "mfa.recovery_code_used")


def test_rotate_key_re_encrypts_every_secret_under_the_newest_key(app, app_factory):
    old_key = app.config["MFA_ENCRYPTION_KEYS"]
    new_key = Fernet.generate_key().decode()
    users = {email: make_user(app, email) for email in ("pat@example.org", "sam@example.org")}
    secrets = {email: stored_secret(app, email) for email in users}
    before = stored_tokens(app)

    rotating = app_factory(MFA_ENCRYPTION_KEYS=f"{new_key},{old_key}")
    result = rotating.test_cli_runner().invoke(args=["mfa", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 TOTP secrets" in result.output
    after = stored_tokens(app)
    for email, user_id in users.items():
        assert after[user_id] != before[user_id]
        assert Fernet(new_key).decrypt(after[user_id].encode()).decode() == secrets[email]
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(after[user_id].encode())
    assert events(app, "mfa.key_rotated")[0]["credentials"] == 2

    rotated = app_factory(MFA_ENCRYPTION_KEYS=new_key)
    for email in users:
        response = sign_in(rotated.test_client(), email, secret=secrets[email])
        assert response.status_code == 302 and response.location == "/tasks", page_text(response)


def test_rotate_key_stops_when_a_secret_cannot_be_decrypted(app, app_factory):
    make_user(app)
    stranger = app_factory(MFA_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    before = stored_tokens(app)
    result = stranger.test_cli_runner().invoke(args=["mfa", "rotate-key"])
    assert result.exit_code != 0
    assert "cannot be decrypted with any key in MFA_ENCRYPTION_KEYS" in result.output
    assert stored_tokens(app) == before


def test_unusable_keys_stop_the_app_from_starting(app, app_factory):
    with pytest.raises(ConfigurationError, match="MFA_ENCRYPTION_KEYS"):
        app_factory(MFA_ENCRYPTION_KEYS="not-a-key")


def test_the_second_code_after_rotation_still_follows_the_rules(app, app_factory):
    """Rotation keeps the replay guard: a code used before is still refused after."""
    user_id = make_user(app)
    secret = stored_secret(app, EMAIL)
    code = fresh_code(app, EMAIL, secret)
    client = app.test_client()
    password_only(client)
    assert post_code(client, code).status_code == 302
    new_key = Fernet.generate_key().decode()
    rotating = app_factory(MFA_ENCRYPTION_KEYS=f"{new_key},{app.config['MFA_ENCRYPTION_KEYS']}")
    assert rotating.test_cli_runner().invoke(args=["mfa", "rotate-key"]).exit_code == 0
    again = rotating.test_client()
    password_only(again)
    assert post_code(again, code).status_code == 400
    assert MultiFernet([Fernet(new_key)]).decrypt(stored_tokens(app)[user_id].encode()).decode() == secret
