"""What either protocol hands up once a sign-in has passed every check."""

from __future__ import annotations

from dataclasses import dataclass

# Where a started sign-in is kept in the (server-side) session, whichever the protocol.
FLOW_KEY = "sso_flow"


@dataclass(frozen=True)
class VerifiedIdentity:
    """Who the provider says signed in, after every check passed."""

    issuer: str
    subject: str
    email: str | None
    name: str | None
    ohp_org_id: str | None
    ohp_org_name: str | None
    auth_time: int | None
