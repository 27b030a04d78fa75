"""Issue 15, item 8: recovery codes are stored under a keyed HMAC; a try costs one lookup."""

from __future__ import annotations

import hashlib
import hmac

from argon2 import PasswordHasher
from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import RecoveryCode

from .builders import make_user
from .helpers import page_text, sign_in
from .mfa_helpers import RECOVERY_CHALLENGE, enroll_through_pages, password_only, post_code


def enrolled_with_codes(app, client) -> list[str]:
    make_user(app, mfa=False)
    sign_in(client, second_factor=False)
    _, codes, _ = enroll_through_pages(client, app)
    return codes


def test_codes_are_stored_as_keyed_hmacs_only(app, client):
    codes = enrolled_with_codes(app, client)
    key = app.config["RECOVERY_CODE_KEY"].encode()
    expected = {hmac.new(key, c.replace("-", "").encode(), hashlib.sha256).hexdigest() for c in codes}
    with app.app_context():
        rows = db.session.scalars(select(RecoveryCode)).all()
    assert {row.code_digest for row in rows} == expected
    assert all(row.code_hash is None for row in rows)


def test_a_wrong_code_costs_no_slow_hash_and_a_right_one_works_once(app, client, monkeypatch):
    codes = enrolled_with_codes(app, client)
    fresh = app.test_client()
    password_only(fresh)
    calls = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda *a, **k: calls.append(1) or real_verify(*a, **k))
    wrong = post_code(fresh, "zzzz-zzzz-zzzz-zzzz", RECOVERY_CHALLENGE, "recovery_code")
    assert wrong.status_code == 400
    assert calls == []
    assert post_code(fresh, codes[3], RECOVERY_CHALLENGE, "recovery_code").status_code == 302
    again = app.test_client()
    password_only(again)
    reused = post_code(again, codes[3], RECOVERY_CHALLENGE, "recovery_code")
    assert reused.status_code == 400
    assert "recovery code" in page_text(reused).lower()
