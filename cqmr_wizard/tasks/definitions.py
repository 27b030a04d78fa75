"""The tasks of CQMR onboarding, declared in the order the task list shows them."""

from __future__ import annotations

from ..onboarding.facts import REQUIRED_DETAILS
from ..training.facts import training_status
from .engine import AgreementFact, Facts, Status, TaskDefinition


def eligibility_progress(facts: Facts) -> Status:
    if facts.organization and facts.organization.eligibility:
        return Status.COMPLETED
    return Status.NOT_STARTED


def details_progress(facts: Facts) -> Status:
    org = facts.organization
    if org is None or not org.details_answered:
        return Status.NOT_STARTED
    if org.details_answered >= REQUIRED_DETAILS and org.details_confirmed:
        return Status.COMPLETED
    return Status.IN_PROGRESS


def team_progress(facts: Facts) -> Status:
    """Completed when someone administers and someone signs, and no invitation is open; once the
    organization is live its team was formed: newcomers invited and people leaving are the team
    page's news, not onboarding left undone."""
    org = facts.organization
    if org is None:
        return Status.NOT_STARTED
    if org.live or (org.admins and org.signers and not org.pending_invitations):
        return Status.COMPLETED
    if org.invitations or org.members > 1:
        return Status.IN_PROGRESS
    return Status.NOT_STARTED


def onehealthport_progress(facts: Facts) -> Status:
    if facts.organization and facts.organization.ohp_org_id:
        return Status.COMPLETED
    return Status.NOT_STARTED


def mfa_progress(facts: Facts) -> Status:
    """Completed once an authenticator is confirmed and the recovery codes are saved."""
    if facts.mfa_enrolled and facts.recovery_codes_saved:
        return Status.COMPLETED
    if facts.mfa_enrolled or facts.mfa_pending:
        return Status.IN_PROGRESS
    return Status.NOT_STARTED


def ohp_account_progress(facts: Facts) -> Status:
    return Status.COMPLETED if facts.sso_linked else Status.NOT_STARTED


def training_progress(facts: Facts) -> Status:
    """The training feature's rule (its page shows the same status without importing tasks/)."""
    org = facts.organization
    if org is None:
        return Status.NOT_STARTED
    return training_status(org.training_items, org.training_reviewed)


def agreements_progress(agreements: tuple[AgreementFact, ...]) -> Status:
    """Completed when every current version is signed (or its returned copy verified); a newly
    published version re-opens the task: "Not started" until something of it is signed again."""
    if not agreements or not all(a.published for a in agreements):
        return Status.NOT_STARTED
    if all(a.signed for a in agreements):
        return Status.COMPLETED
    if all(a.signed or a.waiting for a in agreements):
        return Status.WAITING
    if any(a.stale for a in agreements):
        return Status.NOT_STARTED
    if any(a.signed or a.waiting for a in agreements):
        return Status.IN_PROGRESS
    return Status.NOT_STARTED


def agreements_in_force(agreements: tuple[AgreementFact, ...]) -> bool:
    """Every agreement signed, or signed in an earlier version whose date to re-sign by is ahead."""
    return bool(agreements) and all(a.in_force for a in agreements)


def organization_agreements_in_force(facts: Facts) -> bool:
    return agreements_in_force(facts.organization.agreements if facts.organization else ())


def user_agreements_in_force(facts: Facts) -> bool:
    return agreements_in_force(facts.user_agreements)


def organization_agreements_progress(facts: Facts) -> Status:
    return agreements_progress(facts.organization.agreements if facts.organization else ())


def user_agreements_progress(facts: Facts) -> Status:
    return agreements_progress(facts.user_agreements)


def _admin_or_signer(facts: Facts) -> bool:
    return facts.organization is not None and (facts.is_admin or facts.is_signer)


def _member(facts: Facts) -> bool:
    return facts.organization is not None


def _admin(facts: Facts) -> bool:
    return facts.organization is None or facts.is_admin


TASKS: list[TaskDefinition] = [
    TaskDefinition(
        key="eligibility",
        title="Confirm your organization is eligible",
        scope="organization",
        progress=eligibility_progress,
        endpoint="onboarding.eligibility",
        hint="The CQMR is open to HIPAA covered entities and their business associates.",
        actionable=_admin,
    ),
    TaskDefinition(
        key="onehealthport",
        title="Connect your organization to OneHealthPort",
        scope="organization",
        progress=onehealthport_progress,
        endpoint="sso.connect",
        hint="OneHealthPort is the single sign-on for the CQMR. Register there, then sign in with it here.",
        depends_on=("eligibility",),
        actionable=_admin,
    ),
    TaskDefinition(
        key="details",
        title="Give your organization's details",
        scope="organization",
        progress=details_progress,
        endpoint="onboarding.details",
        hint="Legal name, type, Tax ID, address and phone.",
        depends_on=("eligibility",),
        actionable=_admin,
    ),
    TaskDefinition(
        key="team",
        title="Invite your team",
        scope="organization",
        progress=team_progress,
        endpoint="team.index",
        hint="Invite your end users, give each a role, and name at least one authorized signer.",
        depends_on=("eligibility",),
        actionable=_admin,
    ),
    TaskDefinition(
        key="org_agreements",
        title="Sign the organization agreements",
        scope="organization",
        progress=organization_agreements_progress,
        endpoint="agreements.organization",
        hint="Your authorized signer signs the CQMR Organizational Participation Agreement and "
        "the MiHIN Terms of Service, here or on paper.",
        depends_on=("details",),
        actionable=_admin_or_signer,
        done_by="your organization's administrator or authorized signer",
        in_force=organization_agreements_in_force,
    ),
    TaskDefinition(
        key="mfa",
        title="Set up two-step verification",
        scope="user",
        progress=mfa_progress,
        endpoint="mfa.manage",
        hint="Protect your account with an authenticator app on your phone, and save your recovery codes.",
    ),
    TaskDefinition(
        key="ohp_account",
        title="Connect your OneHealthPort account",
        scope="user",
        progress=ohp_account_progress,
        endpoint="sso.connect",
        hint="Sign in once with your own OneHealthPort account: the CQMR knows you by it.",
        depends_on=("onehealthport",),
    ),
    TaskDefinition(
        key="training",
        title="Review training materials",
        scope="organization",
        progress=training_progress,
        endpoint="training.index",
        hint="Guides and recordings from the CQMR program. Optional: it never holds up access.",
        required=False,
        actionable=_member,
    ),
    TaskDefinition(
        key="user_agreements",
        title="Sign your user agreements",
        scope="user",
        progress=user_agreements_progress,
        endpoint="agreements.user_agreements",
        hint="Read and accept the Authorized User Agreement and the Terms of Service.",
        in_force=user_agreements_in_force,
    ),
]
