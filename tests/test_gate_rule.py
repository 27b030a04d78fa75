"""The gate's rule as a table: each condition of the organization's own, while it onboards and
once it is live — a test per cell — and the member's own conditions, asked in both phases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cqmr_wizard.agreements.standing import AgreementFact
from cqmr_wizard.tasks.definitions import REQUIRED_DETAILS, TASKS
from cqmr_wizard.tasks.engine import Facts, OrganizationFacts
from cqmr_wizard.tasks.gate_rule import ORGANIZATION_RULE, gate_blockers, organization_blockers

SIGNED = (
    AgreementFact("opa", published=True, signed=True, in_force=True),
    AgreementFact("mihin", published=True, signed=True, in_force=True),
)
# An organization whose every condition holds: all its required tasks completed, in good standing.
GOOD = OrganizationFacts(
    eligibility="covered_entity",
    details_answered=REQUIRED_DETAILS,
    details_confirmed=True,
    ohp_org_id="OHP-1",
    members=3,
    admins=1,
    signers=1,
    agreements=SIGNED,
)
# Each organization condition broken on its own.
BROKEN = {
    "suspended": {"suspended": True},
    "offboarded": {"offboarded": True},
    "eligibility": {"eligibility": None},
    "onehealthport": {"ohp_org_id": None},
    "details": {"details_confirmed": False},
    "team": {"pending_invitations": 1, "invitations": 1},
    "org_agreements": {
        "agreements": (AgreementFact("opa", published=True, stale=True), SIGNED[1]),
    },
    # Set only with ACCESS_REVIEW_ENFORCE on, past the grace period (team/review_facts.py).
    "access_review": {"access_review_overdue": True},
}
# The table the issue asks for: does the condition, broken, close the gate while onboarding / live?
EXPECTED = {
    "suspended": (True, True),
    "offboarded": (True, True),
    "eligibility": (True, False),
    "onehealthport": (True, True),
    "details": (True, False),
    "team": (True, False),
    "org_agreements": (True, True),
    "access_review": (False, True),
}
# A member with all their own conditions met.
MEMBER = Facts(
    email_verified=True,
    mfa_enrolled=True,
    recovery_codes_saved=True,
    sso_linked=True,
    user_agreements=(
        AgreementFact("aua", published=True, signed=True, in_force=True),
        AgreementFact("tos", published=True, signed=True, in_force=True),
    ),
)


def test_the_table_covers_every_required_organization_task_and_state():
    required = {t.key for t in TASKS if t.scope == "organization" and t.required}
    states = {"suspended", "offboarded", "access_review"}
    assert set(ORGANIZATION_RULE) == required | states == set(EXPECTED) == set(BROKEN)
    assert {key: (p.onboarding, p.live) for key, p in ORGANIZATION_RULE.items()} == EXPECTED


def _keys(org: OrganizationFacts, member: Facts = MEMBER, **kw) -> list[str]:
    facts = replace(member, organization=org)
    return [
        b.key
        for b in gate_blockers(
            facts, has_role=kw.get("has_role", True), deactivated=kw.get("deactivated", False)
        )
    ]


@pytest.mark.parametrize("live", [False, True], ids=["onboarding", "live"])
def test_an_organization_in_good_standing_lets_a_ready_member_in(live):
    assert _keys(replace(GOOD, live=live)) == []
    assert organization_blockers(replace(GOOD, live=live)) == []


@pytest.mark.parametrize("live", [False, True], ids=["onboarding", "live"])
@pytest.mark.parametrize("condition", sorted(EXPECTED))
def test_each_cell(condition, live):
    org = replace(GOOD, live=live, **BROKEN[condition])
    closes = EXPECTED[condition][live]
    assert (condition in _keys(org)) is closes
    assert (condition in organization_blockers(org)) is closes
    if not closes:
        assert _keys(org) == []  # nothing else stands in for it either


def test_a_live_organization_with_its_details_reopened_still_asks_its_agreements():
    """A task the live phase does not ask (details) counts as met for the one that depends on it
    (the agreements), which is still asked."""
    org = replace(GOOD, live=True, details_confirmed=False)
    assert _keys(org) == []
    assert _keys(replace(org, **BROKEN["org_agreements"])) == ["org_agreements"]


@pytest.mark.parametrize("live", [False, True], ids=["onboarding", "live"])
@pytest.mark.parametrize(
    ("member", "kw", "key"),
    [
        (replace(MEMBER, email_verified=False), {}, "email"),
        (replace(MEMBER, mfa_enrolled=False), {}, "mfa"),
        (replace(MEMBER, sso_linked=False), {}, "ohp_account"),
        (replace(MEMBER, user_agreements=()), {}, "user_agreements"),
        (MEMBER, {"has_role": False}, "role"),
        (MEMBER, {"deactivated": True}, "deactivated"),
    ],
    ids=["email", "mfa", "ohp_account", "user_agreements", "role", "deactivated"],
)
def test_a_members_own_conditions_are_asked_in_both_phases(member, kw, key, live):
    assert _keys(replace(GOOD, live=live), member, **kw) == [key]


# A new version published with a date to sign by: only the earlier version is signed, and it
# stays in force until that date.
IN_WINDOW = (AgreementFact("opa", published=True, stale=True, in_force=True), SIGNED[1])
PAST_WINDOW = (AgreementFact("opa", published=True, stale=True, in_force=False), SIGNED[1])


@pytest.mark.parametrize(("live", "closes"), [(False, True), (True, False)], ids=["onboarding", "live"])
def test_organization_agreements_in_their_window(live, closes):
    """A live organization keeps access until the date; one still onboarding signs the current version."""
    assert ("org_agreements" in _keys(replace(GOOD, live=live, agreements=IN_WINDOW))) is closes
    assert _keys(replace(GOOD, live=live, agreements=PAST_WINDOW)) == ["org_agreements"]


@pytest.mark.parametrize("live", [False, True], ids=["onboarding", "live"])
def test_a_persons_own_agreements_in_their_window(live):
    """A person's earlier acceptance counts until the date, whatever their organization's phase."""
    own = (AgreementFact("aua", published=True, stale=True, in_force=True), MEMBER.user_agreements[1])
    assert _keys(replace(GOOD, live=live), replace(MEMBER, user_agreements=own)) == []
    past = (AgreementFact("aua", published=True, stale=True, in_force=False), MEMBER.user_agreements[1])
    assert _keys(replace(GOOD, live=live), replace(MEMBER, user_agreements=past)) == ["user_agreements"]
