"""Organizations and teams of any size, written in one transaction each (the projection is
recomputed at that commit like at any other)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from cqmr_wizard.extensions import db
from cqmr_wizard.models import (
    Invitation,
    Membership,
    MembershipRole,
    MfaState,
    Organization,
    TotpCredential,
    User,
)
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.models.mfa import ACTIVE, PENDING

ROLE_CYCLE = (("submitter",), ("signer", "viewer"), ("viewer",))


def seed_members(app, org_id: int, count: int, domain: str, invitations: int = 0) -> None:
    """`count` members of `org_id` in every state (verified or not, second factor set up, being
    set up or not, deactivated), and open invitations."""
    now = utcnow()
    with app.app_context():
        users = [
            User(
                email=f"m{i:03d}@{domain}",
                full_name=f"Member {i:03d}",
                email_verified_at=now if i % 7 else None,
                deactivated_at=now if i % 11 == 5 else None,
            )
            for i in range(count)
        ]
        db.session.add_all(users)
        db.session.flush()
        for i, user in enumerate(users):
            membership = Membership(organization_id=org_id, user_id=user.id)
            membership.role_rows.extend(MembershipRole(role=r) for r in ROLE_CYCLE[i % 3])
            db.session.add(membership)
            if i % 3 != 2:
                db.session.add(
                    TotpCredential(
                        user_id=user.id, state=ACTIVE if i % 3 == 0 else PENDING, secret_encrypted="x"
                    )
                )
            if i % 3 == 0:
                db.session.add(MfaState(user_id=user.id, recovery_codes_confirmed_at=now))
        for i in range(invitations):
            db.session.add(
                Invitation(
                    organization_id=org_id,
                    email=f"i{i:03d}@{domain}",
                    full_name=f"Invitee {i:03d}",
                    role_keys="viewer signer",
                    token_hash=secrets.token_hex(32),
                    expires_at=now + timedelta(days=7 if i % 2 else -1),
                )
            )
        db.session.commit()


def seed_organizations(app, count: int, prefix: str) -> None:
    """`count` organizations at every stage, each with an administrator and a member."""
    now = utcnow()
    with app.app_context():
        orgs = [
            Organization(
                eligibility="covered_entity",
                legal_name=f"{prefix} {i:04d}" if i % 9 else None,
                tax_id=f"{i % 90 + 10}-{i:07d}",
                organization_type="clinic" if i % 2 else None,
                ohp_org_id=f"{prefix}-OHP-{i}" if i % 4 == 0 else None,
                created_at=now - timedelta(days=i % 60),
            )
            for i in range(count)
        ]
        db.session.add_all(orgs)
        db.session.flush()
        for i, org in enumerate(orgs):
            for j in range(2):
                user = User(
                    email=f"{prefix.lower()}{i}-{j}@example.org",
                    full_name=f"Person {j}",
                    email_verified_at=now,
                )
                membership = Membership(organization_id=org.id, user=user)
                membership.role_rows.append(MembershipRole(role="admin" if j == 0 else "signer"))
                db.session.add(membership)
        db.session.commit()
