"""Every kind of audit event: the code stored in `audit_event.event_type` and what a person reads."""

from __future__ import annotations

from enum import StrEnum


class AuditEventType(StrEnum):
    """An audit event type; its value is stored, its `label` is shown to operators."""

    label: str

    def __new__(cls, value: str, label: str) -> AuditEventType:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    # Accounts and signing in
    ACCOUNT_SIGNED_UP = "account.signed_up", "Account created"
    ACCOUNT_EMAIL_VERIFIED = "account.email_verified", "Email address confirmed"
    ACCOUNT_PASSWORD_RESET_REQUESTED = "account.password_reset_requested", "Password reset asked for"
    ACCOUNT_PASSWORD_RESET = "account.password_reset", "Password reset"
    AUTH_SIGN_IN_FAILED = "auth.sign_in_failed", "Sign-in refused"
    AUTH_SIGNED_IN = "auth.signed_in", "Signed in"
    AUTH_SIGNED_OUT = "auth.signed_out", "Signed out"
    AUTH_SIGNED_OUT_EVERYWHERE = "auth.signed_out_everywhere", "Signed out on every device"
    AUTH_SESSIONS_ENDED = "auth.sessions_ended", "Sessions ended"
    AUTH_SIGN_IN_UNLOCKED = "auth.sign_in_unlocked", "Paused sign-in lifted by the owner's mailed link"
    ACCOUNT_SIGN_UP_EXISTING = "account.sign_up_existing", "Sign-up tried with an existing account's address"
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed", "Password changed"
    AUTH_PASSWORD_CHANGE_FAILED = "auth.password_change_failed", "Password change refused"

    # Two-step verification
    MFA_ENROLLMENT_STARTED = "mfa.enrollment_started", "Two-step verification set-up started"
    MFA_ENROLLED = "mfa.enrolled", "Two-step verification set up"
    MFA_CHALLENGE_PASSED = "mfa.challenge_passed", "Two-step verification code accepted"
    MFA_CHALLENGE_FAILED = "mfa.challenge_failed", "Two-step verification code refused"
    MFA_REPLAY_REJECTED = "mfa.replay_rejected", "Two-step verification code refused: already used"
    MFA_LOCKED = "mfa.locked", "Two-step verification locked after too many wrong codes"
    MFA_UNLOCKED = "mfa.unlocked", "Two-step verification unlocked"

    # Recovery codes, resets and keys
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used", "Recovery code used"
    MFA_RECOVERY_CODES_SAVED = "mfa.recovery_codes_saved", "Recovery codes saved"
    MFA_RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated", "New recovery codes made"
    MFA_RESET = "mfa.reset", "Two-step verification reset by an administrator"
    MFA_KEY_ROTATED = "mfa.key_rotated", "Two-step verification encryption key rotated"

    # Passkeys (WebAuthn)
    MFA_PASSKEY_REGISTERED = "mfa.passkey_registered", "Passkey added"
    MFA_PASSKEY_USED = "mfa.passkey_used", "Passkey used"
    MFA_PASSKEY_REMOVED = "mfa.passkey_removed", "Passkey removed"
    MFA_PASSKEY_REFUSED = "mfa.passkey_refused", "Passkey refused"
    ORGANIZATION_PASSKEYS_REQUIRED = (
        "organization.passkeys_required",
        "Administrator required members to use a passkey",
    )
    ORGANIZATION_PASSKEYS_NOT_REQUIRED = (
        "organization.passkeys_not_required",
        "Administrator stopped requiring members to use a passkey",
    )

    # Organizations and their answers
    ORGANIZATION_CREATED = "organization.created", "Organization registration started"
    ORGANIZATION_DRAFT_SET_ASIDE = "organization.draft_set_aside", "Unfinished organization set aside"
    ORGANIZATION_OHP_CONNECTED = "organization.ohp_connected", "Organization linked to OneHealthPort"
    ORGANIZATION_WENT_LIVE = "organization.went_live", "Organization went live (onboarding finished)"
    ORGANIZATION_OHP_ALREADY_REGISTERED = (
        "organization.ohp_already_registered",
        "OneHealthPort organization already registered",
    )
    ORGANIZATION_OFFBOARDING_REQUESTED = (
        "organization.offboarding_requested",
        "Administrator asked to end the organization's participation",
    )
    ORGANIZATION_OFFBOARDING_WITHDRAWN = (
        "organization.offboarding_withdrawn",
        "Administrator withdrew the request to end the organization's participation",
    )
    ONBOARDING_ANSWER_SAVED = "onboarding.answer_saved", "Organization answer saved"
    ONBOARDING_DETAILS_CONFIRMED = "onboarding.details_confirmed", "Organization details confirmed"

    # Team: invitations, members, requests to join
    INVITATION_CREATED = "invitation.created", "Invitation sent"
    INVITATION_RESENT = "invitation.resent", "Invitation sent again"
    INVITATION_REVOKED = "invitation.revoked", "Invitation withdrawn"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    MEMBERSHIP_CREATED = "membership.created", "Member added"
    MEMBERSHIP_ROLES_CHANGED = "membership.roles_changed", "Member's roles changed"
    MEMBERSHIP_DEACTIVATED = "membership.deactivated", "Member deactivated"
    MEMBERSHIP_REACTIVATED = "membership.reactivated", "Member reactivated"
    ACCESS_REVIEW_COMPLETED = "access_review.completed", "Yearly access review completed"
    ACCESS_REVIEW_EXPORTED = "access_review.exported", "Access reviews downloaded"

    JOIN_REQUESTED = "join.requested", "Asked to join an organization"
    JOIN_APPROVED = "join.approved", "Request to join approved"
    JOIN_DECLINED = "join.declined", "Request to join declined"

    # OneHealthPort
    SSO_IDENTITY_LINKED = "sso.identity_linked", "OneHealthPort account linked"
    SSO_IDENTITY_UNLINKED = "sso.identity_unlinked", "OneHealthPort account unlinked"
    SSO_FAILED = "sso.failed", "OneHealthPort sign-in failed"
    SSO_REFUSED = "sso.refused", "OneHealthPort sign-in refused"

    # Agreements
    AGREEMENT_VERSION_PUBLISHED = "agreement.version_published", "Agreement version published"
    AGREEMENT_CONSENTED = "agreement.consented", "Consent to sign electronically given"
    AGREEMENT_CONSENT_WITHDRAWN = "agreement.consent_withdrawn", "Consent to sign electronically withdrawn"
    AGREEMENT_CONSENT_SUPERSEDED = "agreement.consent_superseded", "Consent to sign electronically renewed"
    AGREEMENT_SIGNER_DESIGNATED = "agreement.signer_designated", "Authorized signer designated"

    AGREEMENT_VIEWED = "agreement.viewed", "Agreement read"
    AGREEMENT_SIGNED = "agreement.signed", "Agreement signed"
    AGREEMENT_DECLINED = "agreement.declined", "Agreement declined"
    AGREEMENT_UPLOADED = "agreement.uploaded", "Signed paper copy uploaded"
    AGREEMENT_UPLOAD_VERIFIED = "agreement.upload_verified", "Signed paper copy verified"
    AGREEMENT_UPLOAD_REJECTED = "agreement.upload_rejected", "Signed paper copy rejected"

    # Training, the gate to the CQMR, reminders
    TRAINING_RESOURCE_ADDED = "training.resource_added", "Training material published"
    TRAINING_RESOURCE_WITHDRAWN = "training.resource_withdrawn", "Training material withdrawn"
    TRAINING_REVIEWED = "training.reviewed", "Training material reviewed"
    GATE_REDIRECTED = "gate.redirected", "Sent on to the CQMR"
    GATE_REFUSED = "gate.refused", "Not yet let through to the CQMR"
    GATE_UNAVAILABLE = "gate.unavailable", "CQMR could not be reached"
    REMINDER_SENT = "reminder.sent", "Reminder sent"

    # Registry operators
    OPERATOR_CREATED = "operator.created", "Registry operator added"
    OPERATOR_REVOKED = "operator.revoked", "Registry operator removed"
    OPERATOR_EXPORTED = "operator.exported", "Audit trail exported"
    OPERATOR_DOCUMENT_DOWNLOADED = (
        "operator.document_downloaded",
        "Signed agreement downloaded by an operator",
    )
    OPERATOR_UPLOAD_DOWNLOADED = "operator.upload_downloaded", "Paper copy downloaded by an operator"
    OPERATOR_ORGANIZATION_SUSPENDED = "operator.organization_suspended", "Organization suspended"
    AGREEMENT_SIGN_BY_EXTENDED = (
        "agreement.sign_by_extended",
        "Date to sign a new agreement version moved for one organization by an operator",
    )
    OPERATOR_ORGANIZATION_REACTIVATED = "operator.organization_reactivated", "Organization reactivated"
    OPERATOR_ORGANIZATION_OFFBOARDED = (
        "operator.organization_offboarded",
        "Organization's participation ended (offboarded)",
    )
    OPERATOR_ORGANIZATION_REINSTATED = (
        "operator.organization_reinstated",
        "Organization's participation reinstated",
    )
    OPERATOR_OFFBOARDING_DECLINED = (
        "operator.offboarding_declined",
        "Request to end the organization's participation declined",
    )
    OUTBOX_RETRIED = "outbox.retried", "Undelivered messages sent again by an operator"

    # Provisioning into the CQMR
    PROVISIONING_RETRIED = "provisioning.retried", "CQMR access update sent again by an operator"
    PROVISIONING_SYNCED = "provisioning.synced", "CQMR users compared and repaired"


def label(event_type: str) -> str:
    """The plain-language label of a stored event type (the code itself for an unknown one)."""
    try:
        return AuditEventType(event_type).label
    except ValueError:
        return event_type
