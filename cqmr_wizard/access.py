"""Who may use each route. Every view declares one `Access` level; undeclared views are refused.
`decide()` is the whole policy; `request_verdict()` answers it for the current request, which
access_hook.py does before every request."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import Literal, TypeVar

from flask import current_app, g, has_request_context, request, session
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from .identity import membership_of
from .models import Membership, Organization
from .models.base import utcnow

F = TypeVar("F", bound=Callable)


class Access(enum.Enum):
    PUBLIC = "anyone"
    ANONYMOUS = "signed-out visitors"
    SIGNED_IN = "signed in, second factor not yet given"
    USER = "signed in with both factors"
    APPLICANT = "signed in with both factors, not a registry operator (starts or joins an organization)"
    FOUNDER = "signed in with both factors, not a registry operator: starts an organization or administers it"
    INVITEE = "signed out, or signed in with both factors and not a registry operator (accepts an invitation)"
    MEMBER = "member of an organization"
    ORG_ADMIN = "organization administrator"
    SIGNER = "authorized signer"
    OPERATOR = "registry operator"


# What decide() answers: let in; refuse (403) because the page is not for this person, because
# they lack the page's role, or because they are an operator; refuse (403) because their
# organization no longer takes part (one page everywhere, which says why and whom to call); or
# send them to sign in, to the second factor, to the task list.
# With MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS, an operator who did not sign in with a
# passkey is sent to add one ("add_passkey"); so is a member whose organization requires passkeys,
# once its grace period is over.
Verdict = Literal[
    "allow",
    "refuse",
    "lacks_role",
    "operator",
    "offboarded",
    "sign_in",
    "second_factor",
    "tasks",
    "add_passkey",
]
REFUSALS = ("refuse", "lacks_role", "operator")
ROLE_NEEDED = {
    Access.MEMBER: None,
    Access.ORG_ADMIN: "admin",
    Access.SIGNER: "signer",
    Access.FOUNDER: "admin",
}


def decide(
    level: Access | None,
    auth: str | None,
    is_operator: bool,
    roles: frozenset[str] | None,
    offboarded: bool = False,
    passkey_needed: bool = False,
) -> Verdict:
    """The policy. `auth` is None, "password" or "full"; `roles` is None without a membership;
    `offboarded`: the membership's organization no longer takes part in the CQMR;
    `passkey_needed`: the person must add (or sign in with) a passkey before anything else."""
    if level is None:
        return "refuse"
    if level is Access.PUBLIC:
        return "allow"
    if level is Access.ANONYMOUS:
        return "allow" if auth is None else "tasks"
    if auth is None:
        return "allow" if level is Access.INVITEE else "sign_in"
    if level is Access.SIGNED_IN:
        return "allow"  # signing out stays open to everyone signed in
    if offboarded and roles is not None:
        return "offboarded"
    if auth != "full":
        return "second_factor"
    if passkey_needed:
        return "add_passkey"
    if level is Access.OPERATOR:
        return "allow" if is_operator else "refuse"
    if is_operator:  # operators are never members
        return "allow" if level is Access.USER else "operator"
    if level in (Access.USER, Access.APPLICANT, Access.INVITEE):
        return "allow"
    if roles is None:
        return "allow" if level is Access.FOUNDER else "tasks"  # a founder starts an organization
    role = ROLE_NEEDED[level]
    return "allow" if role is None or role in roles else "lacks_role"


class AccessRefused(Forbidden):
    """A 403 from decide(): `verdict` says why, `lacking` names the role a member lacks. A
    blueprint's 403 handler may choose its page from them; the decision is already made."""

    def __init__(self, level: Access | None, verdict: Verdict) -> None:
        super().__init__()
        self.level = level
        self.verdict = verdict
        self.lacking = ROLE_NEEDED.get(level) if verdict == "lacks_role" else None


def allow(level: Access) -> Callable[[F], F]:
    """Declare who may use a view."""

    def decorate(view: F) -> F:
        view.access = level  # type: ignore[attr-defined]
        return view

    return decorate


def view_access(endpoint: str | None) -> Access | None:
    """Return the declared access level of an endpoint, or None if it declares none."""
    if endpoint == "static":
        return Access.PUBLIC
    return getattr(current_app.view_functions.get(endpoint or ""), "access", None)


def session_auth() -> str | None:
    """None, "password" or "full" (None outside a request: mail sent from a command)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return "full" if session.get("auth_level") == "full" else "password"


def fully_authenticated() -> bool:
    """True when the session has passed both factors."""
    return session_auth() == "full"


# What a person who must use a passkey may still reach: adding one, after confirming it is them.
PASSKEY_SET_UP = frozenset({"mfa.add_passkey", "mfa.passkey_options", "mfa.reverify", "mfa.reverify_passkey"})


def passkeys_due(org: Organization) -> datetime | None:
    """When the organization's members must sign in with a passkey; None: they need not."""
    if org.passkeys_required_at is None:
        return None
    return org.passkeys_required_at + current_app.config["ORG_PASSKEY_GRACE"]


def must_use_passkey(is_operator: bool, membership: Membership | None) -> bool:
    """Whether this person must sign in with a passkey now: an operator under the operator
    policy, or a member of an organization requiring passkeys after its grace period."""
    if is_operator:
        return bool(current_app.config.get("MFA_REQUIRE_PHISHING_RESISTANT_FOR_OPERATORS"))
    due = passkeys_due(membership.organization) if membership is not None else None
    return due is not None and due <= utcnow()


def passkey_needed(is_operator: bool, membership: Membership | None = None) -> bool:
    """True when the policy wants this person's session to have been passed with a passkey
    and it was not (and the page is not one of adding a passkey)."""
    return (
        session.get("mfa_method") != "passkey"
        and request.endpoint not in PASSKEY_SET_UP
        and must_use_passkey(is_operator, membership)
    )


def request_verdict() -> Verdict:
    """Load the membership (views read it as `g.membership`) and decide on this request."""
    user = current_user._get_current_object()
    g.membership = membership_of(user) if user.is_authenticated else None
    roles = frozenset(g.membership.roles) if g.membership is not None else None
    operator = getattr(current_user, "is_operator", False)
    offboarded = g.membership is not None and g.membership.organization.offboarded_at is not None
    needed = passkey_needed(operator, g.membership)
    return decide(view_access(request.endpoint), session_auth(), operator, roles, offboarded, needed)
