"""All models, importable from one place (Alembic and the app factory import this)."""

from .access_review import AccessReview
from .accounts import EmailToken, User
from .agreements import (
    AgreementExtension,
    AgreementReview,
    AgreementUpload,
    AgreementVersion,
    ElectronicConsent,
    Signature,
    UserSignature,
)
from .audit import AuditEvent, AuditVerification
from .base import utcnow
from .mfa import MfaState, RecoveryCode, TotpCredential, WebAuthnCredential
from .operators import ReminderLog
from .organizations import Membership, MembershipRole, Organization
from .outbox import OutboxMessage
from .progress import MemberProgress, MemberTaskStatus, OrganizationProgress, OrganizationTaskStatus
from .provisioning import ProvisioningState
from .saml import SamlAssertionSeen, SamlPendingResponse
from .sessions import WebSession
from .sso import JoinRequest, OidcIdentity
from .team import Invitation, InvitationSend
from .throttling import RateLimitCounter, SignInThrottle
from .training import TrainingResource, TrainingReview

__all__ = [
    "AgreementExtension",
    "AccessReview",
    "AgreementReview",
    "AgreementUpload",
    "AgreementVersion",
    "AuditEvent",
    "AuditVerification",
    "ElectronicConsent",
    "EmailToken",
    "Invitation",
    "InvitationSend",
    "JoinRequest",
    "MfaState",
    "MemberProgress",
    "MemberTaskStatus",
    "Membership",
    "MembershipRole",
    "OidcIdentity",
    "OutboxMessage",
    "Organization",
    "RateLimitCounter",
    "OrganizationProgress",
    "OrganizationTaskStatus",
    "ProvisioningState",
    "RecoveryCode",
    "SamlAssertionSeen",
    "SamlPendingResponse",
    "ReminderLog",
    "SignInThrottle",
    "Signature",
    "TotpCredential",
    "WebAuthnCredential",
    "TrainingResource",
    "TrainingReview",
    "User",
    "UserSignature",
    "WebSession",
    "utcnow",
]
