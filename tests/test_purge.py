"""`flask purge` removes exactly the rows past each age line, prints how many of each kind, and
never touches evidence: audit events, agreements, signatures, signed copies, members,
organizations, invitations. Rows are built on both sides of every line."""

from __future__ import annotations

import io
import secrets
import threading
from datetime import timedelta

from sqlalchemy import func, inspect, select

from cqmr_wizard.auth.tokens import VERIFY_EMAIL, issue_token
from cqmr_wizard.extensions import db
from cqmr_wizard.mail import send_mail
from cqmr_wizard.models import (
    AgreementUpload,
    AgreementVersion,
    AuditEvent,
    EmailToken,
    Invitation,
    InvitationSend,
    Membership,
    Organization,
    OutboxMessage,
    RateLimitCounter,
    SamlAssertionSeen,
    SamlPendingResponse,
    Signature,
    SignInThrottle,
    User,
    UserSignature,
    WebSession,
)
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.purge import purge_all

from .agreement_helpers import OPA, hidden_fields, load_agreements, signed_in_signer, tiny_pdf
from .builders import make_user, sign_organization_agreement, sign_user_agreements
from .helpers import sign_in

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
EVIDENCE = (
    AuditEvent,
    AgreementVersion,
    Signature,
    UserSignature,
    AgreementUpload,
    Membership,
    Organization,
    Invitation,
    User,
)
KINDS_TABLES = (
    WebSession,
    EmailToken,
    RateLimitCounter,
    SignInThrottle,
    InvitationSend,
    OutboxMessage,
    SamlAssertionSeen,
    SamlPendingResponse,
)


def counts(app, models) -> dict[str, int]:
    with app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in models}


def ids(app, model, column="id") -> set:
    with app.app_context():
        return set(db.session.scalars(select(getattr(model, column))))


def add_rows(app, rows) -> list:
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()
        return [inspect(r).identity[0] for r in rows]


def evidence_and_old_rows(app, mailbox):
    """At the start: a signer with signatures, a returned signed copy and audit events; a
    session, an email link and delivered mail made the way the app makes them."""
    load_agreements(app)
    client = app.test_client()
    user_id, org_id = signed_in_signer(app, client)
    form = client.get(OPA + "/upload")
    upload = client.post(
        OPA + "/upload",
        data={**hidden_fields(form), "file": (io.BytesIO(tiny_pdf()), "signed.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302, upload.status_code
    sign_organization_agreement(app, user_id, "mihin_tos")
    sign_user_agreements(app, user_id)
    with app.app_context():
        issue_token(db.session.get(User, user_id), VERIFY_EMAIL, EMAIL_TTL)
        send_mail("old@example.org", "Old news", "password_changed", user=db.session.get(User, user_id))
        db.session.commit()
    assert mailbox.to("old@example.org")
    return user_id, org_id


EMAIL_TTL = timedelta(hours=24)


def straddling_rows(app, org_id: int, user_id: int) -> tuple[dict, dict]:
    """Rows an hour past each line (`old`) and an hour short of it (`young`), by kind."""
    config = app.config
    now, grace = utcnow(), config["PURGE_AFTER"]
    idle, absolute = config["SESSION_IDLE_TIMEOUT"], config["SESSION_ABSOLUTE_TIMEOUT"]
    max_delay, window = config["SIGN_IN_THROTTLE_MAX_DELAY"], config["INVITATION_RATE_WINDOW"]
    keep = config["OUTBOX_KEEP"]

    def session(last_seen, created=None):
        return WebSession(
            id_hash=secrets.token_hex(32), last_seen_at=last_seen, created_at=created or last_seen
        )

    def token(expires, used=None):
        return EmailToken(
            user_id=user_id,
            purpose=VERIFY_EMAIL,
            token_hash=secrets.token_hex(32),
            expires_at=expires,
            used_at=used,
        )

    def counter(expires):
        return RateLimitCounter(key=f"cqmr/{secrets.token_hex(4)}", hits=3, expires_at=expires)

    def throttle(last_failure):
        return SignInThrottle(
            email_digest=secrets.token_hex(32),
            source="198.51.100.7",
            failures=9,
            last_failure_at=last_failure,
            blocked_until=last_failure + max_delay,
        )

    def message(status, at):
        # Not due again (a waiting one is retried later), so no deliverer takes it meanwhile.
        sent_at = at if status == "sent" else None
        return OutboxMessage(
            kind="mail",
            payload="{}",
            status=status,
            created_at=at,
            next_attempt_at=now + DAY,
            sent_at=sent_at,
        )

    def seen(expires):
        return SamlAssertionSeen(
            assertion_id=f"id-{secrets.token_hex(8)}", issuer="https://idp", expires_at=expires
        )

    def pending(received):
        return SamlPendingResponse(token_hash=secrets.token_hex(32), body="PHNhbWw+", received_at=received)

    old = {
        "saml_ids": add_rows(app, [seen(now - HOUR)]),
        "saml_pending": add_rows(app, [pending(now - grace - HOUR)]),
        "sessions": add_rows(
            app, [session(now - grace - idle - HOUR), session(now, created=now - grace - absolute - HOUR)]
        ),
        "tokens": add_rows(app, [token(now + DAY, used=now - grace - HOUR), token(now - grace - HOUR)]),
        "counters": add_rows(app, [counter(now - grace - HOUR)]),
        "throttles": add_rows(app, [throttle(now - grace - max_delay - HOUR)]),
        "messages": add_rows(app, [message("sent", now - keep - HOUR)]),
    }
    young = {
        "saml_ids": add_rows(app, [seen(now + HOUR)]),
        "saml_pending": add_rows(app, [pending(now - grace + HOUR)]),
        "sessions": add_rows(app, [session(now - grace - idle + HOUR), session(now)]),
        "tokens": add_rows(
            app, [token(now + DAY, used=now - grace + HOUR), token(now - grace + HOUR), token(now + DAY)]
        ),
        "counters": add_rows(app, [counter(now - grace + HOUR), counter(now + HOUR)]),
        "throttles": add_rows(app, [throttle(now - grace - max_delay + HOUR)]),
        # Delivered within OUTBOX_KEEP, and (however old) one that gave up and one still waiting.
        "messages": add_rows(
            app,
            [
                message("sent", now - keep + HOUR),
                message("failed", now - 90 * DAY),
                message("pending", now - 90 * DAY),
            ],
        ),
    }

    def invitation(**times):
        return Invitation(
            organization_id=org_id,
            email=f"{secrets.token_hex(4)}@example.org",
            full_name="Someone Invited",
            role_keys="viewer",
            token_hash=secrets.token_hex(32),
            **{"expires_at": now + 7 * DAY, **times},
        )

    old["invitations"] = add_rows(
        app,
        [
            invitation(expires_at=now - grace - HOUR),
            invitation(accepted_at=now - grace - HOUR),
            invitation(revoked_at=now - grace - HOUR),
        ],
    )
    young["invitations"] = add_rows(
        app,
        [invitation(expires_at=now - grace + HOUR), invitation(revoked_at=now - grace + HOUR), invitation()],
    )
    sends = [now - grace - window - HOUR, now - grace - window + HOUR]
    old["sends"], young["sends"] = (
        add_rows(
            app, [InvitationSend(organization_id=org_id, invitation_id=old["invitations"][0], sent_at=at)]
        )
        for at in sends
    )
    return old, young


def output_counts(output: str) -> dict[str, str]:
    return dict(line.strip().rsplit(": ", 1) for line in output.splitlines()[1:])


LABELS = {
    "sessions": "expired sessions",
    "tokens": "used or expired email links (verification, password reset, unlock)",
    "invitations": "links of expired, accepted or revoked invitations (erased; the invitations stay)",
    "counters": "per-source rate-limit counters",
    "throttles": "sign-in throttles",
    "sends": "invitation sends past the rate window",
    "messages": "delivered outbox messages",
    "saml_ids": "expired SAML assertion ids (the replay cache)",
    "saml_pending": "unclaimed SAML responses",
}


def test_purge_removes_exactly_what_is_past_each_line(app_factory, mailbox, clock):
    app = app_factory()
    user_id, org_id = evidence_and_old_rows(app, mailbox)
    # Made by the app a month ago: the session, the email link and every delivered mail.
    made_then = {
        "sessions": ids(app, WebSession, "id_hash"),
        "tokens": ids(app, EmailToken),
        "messages": ids(app, OutboxMessage),
    }
    assert all(made_then.values())
    clock.advance((app.config["OUTBOX_KEEP"] + DAY).total_seconds())
    sign_in(app.test_client(), "sam@example.org")  # a live session and live rate-limit counters
    counted_now = ids(app, RateLimitCounter, "key")
    old, young = straddling_rows(app, org_id, user_id)
    for kind, made in made_then.items():
        old[kind] = [*old[kind], *made]
    evidence = counts(app, EVIDENCE)
    tables = counts(app, KINDS_TABLES)
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("Would remove:")
    expected = {LABELS[kind]: str(len(rows)) for kind, rows in old.items()}
    assert output_counts(dry.output) == expected
    assert counts(app, KINDS_TABLES) == tables and counts(app, EVIDENCE) == evidence

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Removed:")
    assert output_counts(result.output) == expected

    live_sessions = ids(app, WebSession, "id_hash")
    assert not live_sessions & set(old["sessions"]) and set(young["sessions"]) < live_sessions
    assert len(live_sessions - set(young["sessions"])) == 1  # the sign-in just now
    assert ids(app, EmailToken) == set(young["tokens"])
    assert ids(app, RateLimitCounter, "key") == set(young["counters"]) | counted_now
    assert ids(app, SignInThrottle) == set(young["throttles"])
    assert ids(app, InvitationSend) == set(young["sends"])
    assert ids(app, OutboxMessage) == set(young["messages"])
    assert ids(app, SamlAssertionSeen, "assertion_id") == set(young["saml_ids"])
    assert ids(app, SamlPendingResponse, "token_hash") == set(young["saml_pending"])
    with app.app_context():
        erased = set(db.session.scalars(select(Invitation.id).where(Invitation.token_hash.is_(None))))
    assert erased == set(old["invitations"])

    assert counts(app, EVIDENCE) == evidence
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0 and "reaches every checkpoint" in verified.output, verified.output

    again = runner.invoke(args=["purge"])
    assert set(output_counts(again.output).values()) == {"0"}


def test_the_age_lines_are_settings(app_factory, clock):
    app = app_factory(PURGE_AFTER=timedelta(0), OUTBOX_KEEP=timedelta(days=2))
    user_id = make_user(app)
    with app.app_context():
        issue_token(db.session.get(User, user_id), VERIFY_EMAIL, HOUR)
        db.session.add(OutboxMessage(kind="mail", payload="{}", status="sent", sent_at=utcnow() - 3 * DAY))
        db.session.commit()
    clock.advance(2 * HOUR.total_seconds())  # an hour past the link's expiry: no grace left
    result = app.test_cli_runner().invoke(args=["purge"])
    found = output_counts(result.output)
    assert found[LABELS["tokens"]] == "1" and found[LABELS["messages"]] == "1"


def test_with_redis_the_database_holds_no_sessions_or_counters(app_factory):
    # Redis is never called: its keys expire by themselves.
    app = app_factory(REDIS_URL="redis://127.0.0.1:9/0")
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    found = output_counts(result.output)
    assert found[LABELS["sessions"]].startswith("kept in Redis")
    assert found[LABELS["counters"]].startswith("kept in Redis")
    assert found[LABELS["tokens"]] == "0"


def test_two_hosts_purging_at_once_both_finish_and_remove_each_row_once(app_factory, clock):
    first, second = app_factory(), app_factory()
    user_id = make_user(first)
    expired = utcnow() - 2 * DAY
    with first.app_context():
        db.session.add_all(
            WebSession(id_hash=secrets.token_hex(32), last_seen_at=expired, created_at=expired)
            for _ in range(500)
        )
        db.session.add_all(
            EmailToken(
                user_id=user_id, purpose=VERIFY_EMAIL, token_hash=secrets.token_hex(32), expires_at=expired
            )
            for _ in range(500)
        )
        db.session.commit()
    start = threading.Barrier(2)
    results: list = []

    def purge_on(app) -> None:
        with app.app_context():
            start.wait()
            results.append({kind.label: count for kind, count in purge_all()})

    threads = [threading.Thread(target=purge_on, args=(app,)) for app in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2, "a purge raised"
    assert sum(r[LABELS["sessions"]] for r in results) == 500
    assert sum(r[LABELS["tokens"]] for r in results) == 500
    assert counts(first, (WebSession, EmailToken)) == {"WebSession": 0, "EmailToken": 0}
