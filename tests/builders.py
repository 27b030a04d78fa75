"""Starting points built straight in the database, where only the starting point matters:
people, organizations, memberships, linked OneHealthPort accounts and signed agreements.
Tests then act through HTTP (tests/helpers.py), as a user would."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from cqmr_wizard.agreements import documents, signing
from cqmr_wizard.agreements.consent import give_consent
from cqmr_wizard.agreements.evidence import ClientInfo
from cqmr_wizard.agreements.services import current_version, record_review
from cqmr_wizard.auth.passwords import hash_password
from cqmr_wizard.extensions import db
from cqmr_wizard.models import (
    Membership,
    MembershipRole,
    MfaState,
    OidcIdentity,
    Organization,
    TotpCredential,
    User,
)
from cqmr_wizard.models.base import utcnow

from .helpers import PASSWORD

ISSUER = "https://ohp.test"
DETAILS = {
    "legal_name": "Willamette Valley Clinic",
    "organization_type": "clinic",
    "tax_id": "931234567",
    "address_line1": "1 Main St",
    "city": "Salem",
    "state": "OR",
    "postal_code": "97301",
    "phone": "503-555-0100",
}


def make_user(
    app,
    email: str = "pat@example.org",
    *,
    full_name: str = "Pat Example",
    password: str = PASSWORD,
    verified: bool = True,
    mfa: bool = True,
) -> int:
    """A user straight in the database; with `mfa`, already enrolled in two-step verification
    (see `enroll_mfa`), so that `sign_in` takes them all the way in."""
    with app.app_context():
        user = User(
            email=email,
            full_name=full_name,
            password_hash=hash_password(password),
            email_verified_at=utcnow() if verified else None,
        )
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    if mfa:
        enroll_mfa(app, user_id)
    return user_id


def enroll_mfa(app, user_id: int, *, recovery_codes_saved: bool = True) -> str:
    """Give a user an active TOTP credential directly in the database; return its secret."""
    from cqmr_wizard.mfa import totp

    with app.app_context():
        secret = totp.new_secret()
        db.session.add(
            TotpCredential(
                user_id=user_id, state="active", activated_at=utcnow(), secret_encrypted=totp.encrypt(secret)
            )
        )
        state = db.session.get(MfaState, user_id)
        if state is None:
            state = MfaState(user_id=user_id, failed_attempts=0)
            db.session.add(state)
        state.recovery_codes_confirmed_at = utcnow() if recovery_codes_saved else None
        db.session.commit()
    return secret


def make_organization(
    app, user_id: int, roles: tuple[str, ...] = ("admin",), eligibility: str = "covered_entity", **answers
) -> int:
    """An organization with `user_id` as a member holding `roles`; `answers` fill its details."""
    with app.app_context():
        org = Organization(eligibility=eligibility, created_by_id=user_id, **answers)
        db.session.add(org)
        db.session.flush()
        db.session.add(_membership(org.id, user_id, roles))
        db.session.commit()
        return org.id


@dataclass(frozen=True)
class Member:
    """Who `add_member` added: the user and their membership (the team pages' member id)."""

    user_id: int
    membership_id: int


def add_member(
    app,
    org_id: int,
    *,
    roles: tuple[str, ...],
    user_id: int | None = None,
    email: str | None = None,
    name: str | None = None,
    mfa: bool = True,
    verified: bool = True,
    linked: bool = False,
    agreements: bool = False,
) -> Member:
    """Make the existing user `user_id`, or a new user with `email` (named `name`, or after the
    address; `mfa` and `verified` as in `make_user`), a member of `org_id` holding `roles`. With
    `linked`, their own OneHealthPort account is connected; with `agreements`, they have signed
    their user agreements."""
    assert (user_id is None) != (email is None), "give either an existing user_id or a new user's email"
    if user_id is None:
        full_name = name or email.split("@")[0].title()
        user_id = make_user(app, email, full_name=full_name, mfa=mfa, verified=verified)
    with app.app_context():
        membership = _membership(org_id, user_id, roles)
        db.session.add(membership)
        db.session.commit()
        member = Member(user_id, membership.id)
    if linked:
        link_onehealthport(app, user_id)
    if agreements:
        sign_user_agreements(app, user_id)
    return member


def _membership(org_id: int, user_id: int, roles: tuple[str, ...]) -> Membership:
    membership = Membership(organization_id=org_id, user_id=user_id)
    membership.role_rows.extend(MembershipRole(role=role) for role in roles)
    return membership


def link_onehealthport(app, user_id: int, subject: str | None = None, issuer: str = ISSUER) -> str:
    """Connect the person's own OneHealthPort account; returns its subject, by default one no
    other test uses (the local CQMR outlives a test, and user ids start again in each)."""
    subject = subject or f"ohp-{user_id}-{secrets.token_hex(3)}"
    with app.app_context():
        db.session.add(OidcIdentity(user_id=user_id, issuer=issuer, subject=subject))
        db.session.commit()
    return subject


def connect_organization(app, org_id: int) -> None:
    """The organization is connected to OneHealthPort, so its members can link their own accounts."""
    with app.app_context():
        db.session.get(Organization, org_id).ohp_org_id = f"OHP-{org_id}"
        db.session.commit()


def _reviewed(user_id: int, kind: str) -> tuple:
    """The user's consent and review of `kind`'s current version, given now if need be:
    (user, their membership or None, client, consent, version, review)."""
    if current_version(kind) is None:
        documents.load_samples()
    user = db.session.get(User, user_id)
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user_id))
    client = ClientInfo("127.0.0.1", "tests")
    consent = give_consent(user, client)
    version = current_version(kind)
    review = record_review(user, version, client, membership.organization_id if membership else None)
    return user, membership, client, consent, version, review


def sign_user_agreement(app, user_id: int, kind: str) -> None:
    """Consent, review and click-sign the current version of one user agreement, through the
    services that store them (no HTTP)."""
    with app.app_context():
        user, membership, client, _, version, _ = _reviewed(user_id, kind)
        signing.sign_user_agreement(
            user, membership, kind, version.id, version.content_sha256, user.full_name, client
        )


def sign_user_agreements(app, user_id: int) -> None:
    """Sign every user agreement, so the person is past that task (e.g. for the "Go to CQMR" gate)."""
    for kind in documents.USER_KINDS:
        sign_user_agreement(app, user_id, kind)


def sign_organization_agreement(app, user_id: int, kind: str) -> None:
    """Record an organization signature of `kind`'s current version by `user_id`, through the
    service that stores it (no HTTP, and a placeholder second-factor step)."""
    with app.app_context():
        user, membership, client, consent, version, review = _reviewed(user_id, kind)
        signing.record_signature(
            user, membership, version, consent, review, user.full_name, "Director", {"totp_step": 0}, client
        )


def sign_organization_agreements(app, user_id: int, org_id: int) -> None:
    """Make `user_id` the designated signer of `org_id` and sign every organization agreement."""
    with app.app_context():
        db.session.get(Organization, org_id).designated_signer_id = user_id
        db.session.commit()
    for kind in documents.ORGANIZATION_KINDS:
        sign_organization_agreement(app, user_id, kind)
