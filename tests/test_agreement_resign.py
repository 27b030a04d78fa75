"""A new agreement version with a date to sign by (issue #22): until the date an earlier signature
keeps a live organization (or a person) in force, at the gate and in the CQMR; banners and
reminders say so; after the date the clock pass (run by `flask outbox deliver`, nothing else)
closes the gate and deactivates them in the CQMR; signing reopens it at once; an operator can
move one organization's date."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cqmr_wizard.agreements import documents
from cqmr_wizard.agreements.standing import AgreementFact, VersionWindow, standing
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Organization, ReminderLog
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.tasks.engine import OrganizationFacts
from cqmr_wizard.tasks.gate_rule import organization_blockers

from .builders import sign_organization_agreement, sign_user_agreement
from .helpers import page_text, sign_in
from .operator_support import OPERATOR_EMAIL, operator_client, post_with_token
from .provisioning_support import cqmr_user, ready_organization

GATE = "/go-to-cqmr"
DAY = 24 * 3600
OPA_TITLE = "CQMR Organizational Participation Agreement"


@pytest.fixture
def cqmr(start_local_cqmr):
    return start_local_cqmr(wired=False)


@pytest.fixture
def app(app_factory, cqmr):
    return app_factory(**cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None))


def changed_texts(tmp_path, *kinds: str, clause: str = "9. A clause added in version 2.") -> str:
    """A directory holding the sample texts of `kinds`, each with a clause added."""
    folder = tmp_path / "v2"
    folder.mkdir(exist_ok=True)
    for kind in kinds:
        source = (documents.SAMPLE_DIRECTORY / f"{kind}.md").read_text()
        (folder / f"{kind}.md").write_text(source.replace("version: ", "version: 2-", 1) + f"\n{clause}\n")
    return str(folder)


def flask(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def client_of(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def gate_missing(client) -> set[str] | None:
    """None when the gate lets the person through, else the keys of what it says is missing."""
    response = client.get(GATE)
    if response.status_code != 403:
        return None
    return set(re.findall(r'id="missing-([\w-]+)"', response.get_data(as_text=True)))


def active(cqmr, *user_ids: int) -> list[bool]:
    return [cqmr_user(cqmr, user_id)["active"] for user_id in user_ids]


def resign_reminders(output: str) -> int:
    return int(re.search(r"(\d+) about new agreement versions", output).group(1))


def test_a_new_version_with_a_window_keeps_live_organizations_in_until_its_date(app, cqmr, clock, tmp_path):
    alder = ready_organization(app, "Alder Clinic")
    birch = ready_organization(app, "Birch Clinic")
    with app.app_context():
        assert all(db.session.get(Organization, w["org"]).went_live_at for w in (alder, birch))
    everyone = [alder["admin"], alder["member"], birch["admin"], birch["member"]]

    output = flask(
        app,
        "agreements",
        "load",
        changed_texts(tmp_path, "opa"),
        "--sign-within",
        "60",
        "--summary",
        "Clause 9 on data retention is new.",
    )
    assert "published Version 2" in output and "sign by:" in output
    # Live organizations keep access: the gate and the CQMR.
    assert active(cqmr, *everyone) == [True] * 4
    member = client_of(app, alder["member_email"])
    assert gate_missing(member) is None
    signer = client_of(app, alder["admin_email"])
    tasks = page_text(signer.get("/tasks"))
    assert f"A new version of {OPA_TITLE} must be signed by" in tasks
    assert "Clause 9 on data retention is new." in tasks
    assert "Go to CQMR" in tasks  # it blocks nobody until the date
    overview = signer.get("/agreements/organization").get_data(as_text=True)
    assert "<ins>" in overview and "9. A clause added in version 2." in overview
    operator = operator_client(app)
    due = page_text(operator.get("/operator/?resign=due"))
    assert "Alder Clinic" in due and "Birch Clinic" in due and "Re-sign due" in due

    # Reminders at 30, 7 and 1 days before the date, each once, to the signer-administrator.
    assert resign_reminders(flask(app, "reminders", "send")) == 0
    clock.advance(31 * DAY)
    assert resign_reminders(flask(app, "reminders", "send")) == 2
    assert resign_reminders(flask(app, "reminders", "send")) == 0
    clock.advance(23 * DAY)
    assert resign_reminders(flask(app, "reminders", "send")) == 2
    clock.advance(5.5 * DAY)
    assert resign_reminders(flask(app, "reminders", "send")) == 2
    assert resign_reminders(flask(app, "reminders", "send")) == 0
    with app.app_context():
        kinds = db.session.scalars(select(ReminderLog.kind).order_by(ReminderLog.id)).all()
    assert kinds == ["resign_opa_30"] * 2 + ["resign_opa_7"] * 2 + ["resign_opa_1"] * 2

    # An operator gives Alder thirty more days.
    operator = client_of(app, OPERATOR_EMAIL)
    page = f"/operator/organizations/{alder['org']}"
    assert "Re-sign due" in page_text(operator.get(page))
    extend = f"{page}/agreements/opa/extend"
    new_date = (utcnow() + timedelta(days=30)).date().isoformat()
    refused = post_with_token(operator, extend, {"sign_by": new_date, "reason": ""}, token_page=extend)
    assert refused.status_code == 400 and "Enter the reason for the new date" in page_text(refused)
    moved = post_with_token(
        operator, extend, {"sign_by": new_date, "reason": "Their board meets next month."}, token_page=extend
    )
    assert moved.status_code == 302
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.event_type == "agreement.sign_by_extended")
        )
        assert event.organization_id == alder["org"] and "board meets" in event.details

    # The date passes: nothing changes in the CQMR until the outbox deliverer's clock pass.
    clock.advance(1 * DAY)
    assert active(cqmr, *everyone) == [True] * 4
    flask(app, "outbox", "deliver")
    assert active(cqmr, *everyone) == [True, True, False, False]
    birch_member = client_of(app, birch["member_email"])
    assert gate_missing(birch_member) == {"org_agreements"}
    assert gate_missing(client_of(app, alder["member_email"])) is None
    birch_signer = client_of(app, birch["admin_email"])
    assert f"A new version of {OPA_TITLE} had to be signed by" in page_text(birch_signer.get("/tasks"))
    operator = client_of(app, OPERATOR_EMAIL)
    overdue = page_text(operator.get("/operator/?resign=overdue"))
    assert "Birch Clinic" in overdue and "Alder Clinic" not in overdue
    export = operator.get("/operator/organizations.csv?resign=overdue").get_data(as_text=True)
    assert "Re-sign overdue" in export and "Birch Clinic" in export and "Alder Clinic" not in export

    # Signing v2 reopens the gate and re-provisions at once.
    sign_organization_agreement(app, birch["admin"], "opa")
    assert active(cqmr, birch["admin"], birch["member"]) == [True, True]
    assert gate_missing(birch_member) is None

    # Alder's own date passes in turn.
    clock.advance(30 * DAY)
    flask(app, "outbox", "deliver")
    assert active(cqmr, *everyone) == [False, False, True, True]


def test_a_new_user_agreement_version_keeps_each_person_in_until_its_date(app, cqmr, clock, tmp_path):
    world = ready_organization(app)
    flask(app, "agreements", "load", changed_texts(tmp_path, "aua"), "--sign-within", "10")
    assert active(cqmr, world["admin"], world["member"]) == [True, True]
    member = client_of(app, world["member_email"])
    page = page_text(member.get("/agreements/yours"))
    assert "A new version of Authorized User Agreement must be signed by" in page
    assert gate_missing(member) is None
    sign_user_agreement(app, world["member"], "aua")

    clock.advance(8 * DAY)
    assert resign_reminders(flask(app, "reminders", "send")) == 1  # the admin only: 7 days
    clock.advance(3 * DAY)
    assert active(cqmr, world["admin"], world["member"]) == [True, True]
    flask(app, "outbox", "deliver")
    assert active(cqmr, world["admin"], world["member"]) == [False, True]
    admin = client_of(app, world["admin_email"])
    assert gate_missing(admin) == {"user_agreements"}
    sign_user_agreement(app, world["admin"], "aua")
    assert active(cqmr, world["admin"], world["member"]) == [True, True]
    assert gate_missing(admin) is None


def test_sign_by_now_keeps_the_urgent_behaviour(app, cqmr, tmp_path):
    world = ready_organization(app)
    output = flask(app, "agreements", "load", changed_texts(tmp_path, "opa"), "--now")
    assert "sign by: now" in output
    assert active(cqmr, world["admin"], world["member"]) == [False, False]
    assert gate_missing(client_of(app, world["member_email"])) == {"org_agreements"}


def test_a_change_committed_without_the_scim_setting_reaches_the_cqmr_at_the_next_clock_pass(
    app, app_factory, cqmr, tmp_path
):
    world = ready_organization(app)
    plain_shell = app_factory()  # the same database, no CQMR_SCIM_URL: provisioning is off
    flask(plain_shell, "agreements", "load", changed_texts(tmp_path, "opa"), "--now")
    assert active(cqmr, world["admin"], world["member"]) == [True, True]
    flask(app, "outbox", "deliver")
    assert active(cqmr, world["admin"], world["member"]) == [False, False]
    sign_organization_agreement(plain_shell, world["admin"], "opa")
    flask(app, "outbox", "deliver")
    assert active(cqmr, world["admin"], world["member"]) == [True, True]


def test_the_sign_by_options(app, tmp_path):
    result = app.test_cli_runner().invoke(
        args=["agreements", "load", changed_texts(tmp_path, "opa"), "--now", "--sign-within", "5"]
    )
    assert result.exit_code != 0 and "at most one" in result.output
    flask(app, "agreements", "load", str(documents.SAMPLE_DIRECTORY))  # version 1: in force at once
    output = flask(app, "agreements", "load", changed_texts(tmp_path, "opa"), "--sign-by", "2099-03-01")
    assert "sign by: March 1, 2099 at 11:59 p.m. PST" in output
    with app.app_context():
        version = documents.latest_versions(("opa",))["opa"]
        # Signing on March 1 in Oregon is in time: the date ends at midnight Pacific.
        assert version.sign_by.isoformat().startswith("2099-03-02T07:59:59")


def test_an_earlier_signature_counts_only_through_each_later_versions_date():
    start = datetime(2027, 1, 1, tzinfo=UTC)

    def at(days: float) -> datetime:
        return start + timedelta(days=days)

    windows = [
        VersionWindow(1, None, at(0)),
        VersionWindow(2, at(60), at(1)),
        VersionWindow(3, at(90), at(30)),
    ]

    def fact(signed, days, **kwargs):
        return standing("opa", 3, signed, windows=windows, now=at(days), **kwargs)

    assert fact([1], 50).in_force and fact([1], 50).resign_due and fact([1], 50).sign_by == at(90)
    assert not fact([1], 61).in_force  # version 2's date passed without it being signed
    assert fact([2], 89).in_force and not fact([2], 91).in_force
    extended = fact([2], 91, extended={3: at(100)})
    assert extended.in_force and extended.sign_by == at(100)
    assert fact([3], 200).signed and fact([3], 200).in_force and not fact([3], 200).stale
    urgent = [*windows, VersionWindow(4, None, at(40))]
    assert not standing("opa", 4, [3], windows=urgent, now=at(41)).in_force
    assert not standing("opa", 3, [], windows=windows, now=at(1)).in_force


def test_the_gate_accepts_agreements_in_force_only_from_a_live_organization():
    stale = AgreementFact("opa", published=True, stale=True, in_force=True, sign_by=utcnow())
    signed = AgreementFact("mihin_tos", published=True, signed=True, in_force=True)
    lapsed = AgreementFact("opa", published=True, stale=True, in_force=False, sign_by=utcnow())
    live = OrganizationFacts(live=True, ohp_org_id="OHP-1", agreements=(stale, signed))
    assert organization_blockers(live) == []
    assert organization_blockers(replace(live, agreements=(lapsed, signed))) == ["org_agreements"]
    assert "org_agreements" in organization_blockers(replace(live, live=False))
