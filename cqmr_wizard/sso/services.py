"""Rules for OneHealthPort identities: linking one to an account, connecting the organization,
signing in with it, and disconnecting it. Identities are matched by (issuer, subject) only."""

from __future__ import annotations

import enum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import audit
from ..audit.events import AuditEventType
from ..extensions import db
from ..mail import send_mail
from ..models import Membership, OidcIdentity, Organization, User
from ..models.base import utcnow
from ..refusals import Refusal
from .verified import VerifiedIdentity


class Refused(Refusal):
    """A rule refused the request; nothing was changed. `reason` names the rule; `event` holds
    the refusal's audit event fields when it is to be recorded (`record_refusal`)."""

    def __init__(
        self, reason: str, status: int, message: str, event: dict[str, object] | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.reason = reason
        self.event = event


class Outcome(enum.Enum):
    CONNECTED = "connected"  # the organization now carries its OneHealthPort id
    LINKED = "linked"  # the person's account is linked; the organization was already connected
    NO_ORGANIZATION = "no_organization"  # linked; the person has no organization record yet
    ALREADY_REGISTERED = "already_registered"  # another record holds this OneHealthPort org


def find_identity(issuer: str, subject: str) -> OidcIdentity | None:
    return db.session.scalar(
        select(OidcIdentity).where(OidcIdentity.issuer == issuer, OidcIdentity.subject == subject)
    )


def identity_for(user_id: int, issuer: str) -> OidcIdentity | None:
    """The user's identity at this provider, if linked."""
    return db.session.scalar(
        select(OidcIdentity).where(OidcIdentity.user_id == user_id, OidcIdentity.issuer == issuer)
    )


def organization_for_ohp(ohp_org_id: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.ohp_org_id == ohp_org_id))


def refuse(
    reason: str,
    status: int,
    message: str,
    *,
    user: User | None = None,
    organization_id: int | None = None,
    **details: object,
) -> Refused:
    """The exception to raise for an audited refusal; it changes nothing (the view records it
    with `record_refusal`)."""
    event = {
        "actor_id": user.id if user else None,
        "organization_id": organization_id,
        "subject_user_id": user.id if user else None,
        "details": {"reason": reason, **details},
    }
    return Refused(reason, status, message, event)


def record_refusal(refused: Refused) -> None:
    """Drop whatever the refused attempt wrote, then record the refusal (when it is audited)
    and commit that alone."""
    db.session.rollback()
    if refused.event is not None:
        audit.record(AuditEventType.SSO_REFUSED, **refused.event)
        db.session.commit()


def _describe(identity: OidcIdentity, verified: VerifiedIdentity) -> None:
    identity.email = verified.email
    identity.name = verified.name
    identity.ohp_org_id = verified.ohp_org_id
    identity.last_used_at = utcnow()


# Why an identity cannot be linked to an account → (HTTP status, what the person is told)
LINK_REFUSALS: dict[str, tuple[int, str]] = {
    "operator": (
        403,
        "Registry operator accounts cannot be connected to OneHealthPort. Operators sign in "
        "with their password and two-step verification only.",
    ),
    "linked_to_another_account": (
        409,
        "This OneHealthPort account is already connected to another CQMR onboarding "
        "account. Sign out and sign in with OneHealthPort to use that account, or ask "
        "the CQMR team for help.",
    ),
    "different_identity_linked": (
        409,
        "Your account is already connected to a different OneHealthPort account. "
        "Disconnect it first if you want to use this one.",
    ),
}


def refuse_link(reason: str, user: User, **details: object) -> Refused:
    """`refuse` with the status and words of LINK_REFUSALS[reason]."""
    status, message = LINK_REFUSALS[reason]
    return refuse(reason, status, message, user=user, **details)


def link_identity(user: User, verified: VerifiedIdentity) -> OidcIdentity:
    """Link the verified identity to `user` (the caller commits); refuse one linked elsewhere,
    and refuse operators: they sign in with password and TOTP only."""
    if user.is_operator:
        raise refuse_link("operator", user, issuer=verified.issuer)
    existing = find_identity(verified.issuer, verified.subject)
    if existing is not None and existing.user_id != user.id:
        raise refuse_link("linked_to_another_account", user, issuer=verified.issuer)
    own = identity_for(user.id, verified.issuer)
    if own is not None and own.subject != verified.subject:
        raise refuse_link("different_identity_linked", user)
    if existing is None:
        existing = OidcIdentity(user_id=user.id, issuer=verified.issuer, subject=verified.subject)
        _describe(existing, verified)
        try:
            with db.session.begin_nested():
                db.session.add(existing)
        except IntegrityError:
            raise refuse(
                "linked_to_another_account",
                409,
                "This OneHealthPort account was connected to another account a moment "
                "ago. Nothing was changed.",
                user=user,
            ) from None
        audit.record(
            AuditEventType.SSO_IDENTITY_LINKED,
            actor_id=user.id,
            subject_user_id=user.id,
            details={"issuer": verified.issuer, "subject": verified.subject},
        )
    else:
        _describe(existing, verified)
    return existing


def connect(user: User, membership: Membership | None, verified: VerifiedIdentity) -> Outcome:
    """Link the person's identity and, for an administrator, record the organization's
    OneHealthPort id; find out when another record already holds that id."""
    org = membership.organization if membership else None
    org_id = org.id if org else None
    if org is not None and org.ohp_org_id and verified.ohp_org_id != org.ohp_org_id:
        raise refuse(
            "other_ohp_organization",
            403,
            f"Your organization is connected to the OneHealthPort organization "
            f"“{org.ohp_org_name or org.ohp_org_id}”, but this OneHealthPort account "
            "belongs to a different one. Sign in with your account in that organization.",
            user=user,
            organization_id=org_id,
            ohp_org_id=verified.ohp_org_id,
        )
    admin = membership is not None and membership.has_role("admin")
    if admin and not org.ohp_org_id and not verified.ohp_org_id:
        raise refuse(
            "no_ohp_organization",
            403,
            "This OneHealthPort account is not part of an organization in OneHealthPort. "
            "Register your organization with OneHealthPort (or ask its OneHealthPort "
            "administrator to add you), then sign in again.",
            user=user,
            organization_id=org_id,
        )
    link_identity(user, verified)
    holder = organization_for_ohp(verified.ohp_org_id) if verified.ohp_org_id else None
    if org is None:
        db.session.commit()
        return Outcome.ALREADY_REGISTERED if holder else Outcome.NO_ORGANIZATION
    if org.ohp_org_id or not admin:
        db.session.commit()
        return Outcome.LINKED
    if holder is not None and holder.id != org.id:
        audit.record(
            AuditEventType.ORGANIZATION_OHP_ALREADY_REGISTERED,
            actor_id=user.id,
            organization_id=org.id,
            details={"ohp_org_id": verified.ohp_org_id, "registered_as": holder.id},
        )
        db.session.commit()
        return Outcome.ALREADY_REGISTERED
    try:
        with db.session.begin_nested():
            org.ohp_org_id = verified.ohp_org_id
            org.ohp_org_name = verified.ohp_org_name
            org.ohp_connected_at = utcnow()
            db.session.flush()
    except IntegrityError:
        # Another record took this OneHealthPort organization a moment ago.
        db.session.commit()
        return Outcome.ALREADY_REGISTERED
    audit.record(
        AuditEventType.ORGANIZATION_OHP_CONNECTED,
        actor_id=user.id,
        organization_id=org.id,
        details={
            "ohp_org_id": verified.ohp_org_id,
            "ohp_org_name": verified.ohp_org_name,
            "issuer": verified.issuer,
        },
    )
    db.session.commit()
    return Outcome.CONNECTED


def user_for_sign_in(verified: VerifiedIdentity) -> User:
    """The account linked to this identity, ready for `start_session`; refuse otherwise."""
    identity = find_identity(verified.issuer, verified.subject)
    if identity is None:
        raise refuse(
            "not_linked",
            401,
            "This OneHealthPort account is not connected to a CQMR onboarding account yet. "
            "Sign in with your email address and password to connect it: it takes one "
            "more OneHealthPort sign-in.",
            issuer=verified.issuer,
            subject=verified.subject,
        )
    user = db.session.get(User, identity.user_id)
    if user.is_operator:
        raise refuse(
            "operator",
            403,
            "Registry operators sign in with their email address, password and two-step "
            "verification, not with OneHealthPort.",
            user=user,
        )
    if not user.is_active:
        raise refuse(
            "deactivated",
            403,
            "This account has been deactivated. Contact your organization's administrator.",
            user=user,
        )
    _describe(identity, verified)
    return user


def confirm_same_identity(
    user: User, verified: VerifiedIdentity, started_at: float, leeway: int
) -> OidcIdentity:
    """For a re-authentication: the identity must be the linked one, and freshly signed in."""
    identity = identity_for(user.id, verified.issuer)
    if identity is None or identity.subject != verified.subject:
        raise refuse(
            "reauth_other_identity",
            403,
            "You signed in to OneHealthPort as someone else. Sign in with the "
            "OneHealthPort account connected to this account.",
            user=user,
        )
    if verified.auth_time is None or verified.auth_time < started_at - leeway:
        raise refuse(
            "reauth_not_fresh",
            401,
            "OneHealthPort did not ask for your password again, so the change was not made. Try again.",
            user=user,
        )
    return identity


def unlink(user: User, identity: OidcIdentity, method: str) -> None:
    """Disconnect the identity after a fresh re-authentication, and tell the person."""
    audit.record(
        AuditEventType.SSO_IDENTITY_UNLINKED,
        actor_id=user.id,
        subject_user_id=user.id,
        details={"issuer": identity.issuer, "subject": identity.subject, "reauthenticated_with": method},
    )
    db.session.delete(identity)
    send_mail(
        user.email,
        "OneHealthPort was disconnected from your CQMR onboarding account",
        "ohp_disconnected",
        user=user,
    )
    db.session.commit()
