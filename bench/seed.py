"""Bulk data for the page benchmark, written with multi-row INSERTs (no ORM), then the progress
projection rebuilt by the task engine as `flask progress rebuild` would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select

from cqmr_wizard.audit import GENESIS_HASH, event_link, verifications
from cqmr_wizard.audit.events import AuditEventType
from cqmr_wizard.audit.keys import newest_key
from cqmr_wizard.auth.passwords import hash_password
from cqmr_wizard.extensions import db
from cqmr_wizard.mfa import totp
from cqmr_wizard.models import (
    AuditEvent,
    Membership,
    MembershipRole,
    MfaState,
    Organization,
    TotpCredential,
    User,
)
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.models.mfa import ACTIVE
from cqmr_wizard.tasks.projection import rebuild

PASSWORD = "a long bench passphrase 42"
BATCH = 5000


@dataclass(frozen=True)
class Size:
    name: str
    organizations: int
    users: int
    big_team: int  # members of the organization the pages are measured for


@dataclass(frozen=True)
class Seeded:
    admin_id: int  # administrator of the big organization, both factors done
    member_id: int  # a membership of the big organization (its member page)
    newcomer_id: int  # signed in with a password, no authenticator yet (set-up page)
    challenged_id: int  # has an authenticator; signed in with a password (TOTP challenge)
    operator_id: int
    email_of_challenged: str


def _insert(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(model.__table__), rows[start : start + BATCH])


def seed(size: Size) -> Seeded:
    """Organizations, people and audit events of this size; the projection rebuilt."""
    now = utcnow()
    password = hash_password(PASSWORD)
    secret = totp.encrypt(totp.new_secret())
    orgs, users, members, roles, credentials, states, events = [], [], [], [], [], [], []
    previous = GENESIS_HASH
    key_id, key = newest_key()
    for n in range(1, size.organizations + 1):
        orgs.append(
            {
                "id": n,
                "eligibility": "covered_entity",
                "legal_name": f"Clinic {n:05d}",
                "tax_id": f"{n % 90 + 10}-{n:07d}",
                "organization_type": "clinic" if n % 2 else None,
                "created_at": now - timedelta(days=n % 90),
                "updated_at": now - timedelta(days=n % 45),
            }
        )
        event = AuditEvent(
            occurred_at=(now - timedelta(days=n % 45)).replace(microsecond=0),
            event_type=AuditEventType.ONBOARDING_ANSWER_SAVED,
            organization_id=n,
            details="{}",
            prev_hash=previous,
            key_id=key_id,
        )
        event.hash = previous = event_link(event, key)
        events.append(
            {
                c: getattr(event, c)
                for c in (
                    "occurred_at",
                    "event_type",
                    "organization_id",
                    "details",
                    "prev_hash",
                    "hash",
                    "key_id",
                )
            }
        )
    others = size.organizations - 1
    for uid in range(1, size.users + 1):
        org_id = 1 if uid <= size.big_team else 2 + (uid - size.big_team) % others
        users.append(
            {
                "id": uid,
                "email": f"user{uid}@example.org",
                "full_name": f"Person {uid:06d}",
                "password_hash": password,
                "email_verified_at": now,
                "created_at": now,
                "is_operator": False,
                "failed_sign_in_count": 0,
            }
        )
        members.append({"id": uid, "organization_id": org_id, "user_id": uid, "created_at": now})
        first = uid == 1 or (uid > size.big_team and (uid - size.big_team) <= others)
        roles.append(
            {"membership_id": uid, "role": "admin" if first else ("signer" if uid % 5 == 0 else "viewer")}
        )
        if uid % 3 == 0 or uid == 1:
            credentials.append(
                {"user_id": uid, "state": ACTIVE, "secret_encrypted": secret, "created_at": now}
            )
            states.append({"user_id": uid, "failed_attempts": 0, "recovery_codes_confirmed_at": now})
    newcomer, operator = size.users + 1, size.users + 2
    for uid, name, is_operator in ((newcomer, "Newcomer", False), (operator, "Bench Operator", True)):
        users.append(
            {
                "id": uid,
                "email": f"user{uid}@example.org",
                "full_name": name,
                "password_hash": password,
                "email_verified_at": now,
                "created_at": now,
                "is_operator": is_operator,
                "failed_sign_in_count": 0,
            }
        )
    members.append({"id": newcomer, "organization_id": 1, "user_id": newcomer, "created_at": now})
    for model, rows in (
        (Organization, orgs),
        (User, users),
        (Membership, members),
        (MembershipRole, roles),
        (TotpCredential, credentials),
        (MfaState, states),
        (AuditEvent, events),
    ):
        _insert(model, rows)
    db.session.commit()
    _restart_sequences()
    rebuild()
    # The statistics autovacuum would have gathered by the time a real registry held this much:
    # measured straight after a bulk load, the planner would guess from empty tables.
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()
    # The chain verified once, as the nightly `flask audit verify` would have: the audit trail
    # page then checks only what was appended since, as it does in steady use.
    verifications.verify_all()
    challenged = 3
    return Seeded(1, 2, newcomer, challenged, operator, f"user{challenged}@example.org")


def _restart_sequences() -> None:
    """Explicit ids were inserted: move PostgreSQL's sequences past them."""
    for model in (Organization, User, Membership):
        table = model.__table__.name
        top = db.session.scalar(select(db.func.max(model.id)))
        db.session.execute(db.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})"))
    db.session.commit()
