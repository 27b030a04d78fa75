"""The yearly access review: due a year after going live, reminded before, completed by an
administrator (a removal deprovisions that person in the CQMR), flagged when overdue and, only
with ACCESS_REVIEW_ENFORCE, closing the gate after the grace period; exported for an auditor."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AccessReview, AuditEvent, Organization, OrganizationProgress, User
from cqmr_wizard.models.base import utcnow

from .builders import add_member
from .helpers import page_text, sign_in, submit
from .operator_support import operator_client
from .provisioning_support import cqmr_user, membership_of, ready_organization, roles_of
from .test_team_queries import counted, organization_of_size

GATE = "/go-to-cqmr"
REVIEW = "/team/access-review"
DAY = 24 * 3600
YEAR = 365 * DAY


@pytest.fixture
def cqmr(start_local_cqmr):
    return start_local_cqmr(wired=False)


def scim_config(cqmr, **overrides) -> dict:
    return cqmr.wizard_config(CQMR_INITIATE_LOGIN_URI=None, CQMR_TARGET_LINK_URI=None, **overrides)


@pytest.fixture
def app(app_factory, cqmr):
    return app_factory(**scim_config(cqmr))


def live_team(app) -> dict:
    """A live organization of three ready people: its administrator-signer, a submitter and a
    viewer (`viewer`, `viewer_email`), each active in the CQMR."""
    world = ready_organization(app)
    world["viewer_email"] = world["member_email"].replace("member-", "viewer-")
    world["viewer"] = add_member(
        app,
        world["org"],
        email=world["viewer_email"],
        name="Vic Viewer",
        roles=("viewer",),
        agreements=True,
        linked=True,
    ).user_id
    with app.app_context():
        assert db.session.get(Organization, world["org"]).went_live_at is not None
    return world


def client_of(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def decisions(app, world, **overrides) -> dict:
    """The review form's answers: keep everyone, except `overrides` (person → action or roles)."""
    data = {}
    for person in ("admin", "member", "viewer"):
        member_id = membership_of(app, world[person])
        choice = overrides.get(person, "keep")
        if isinstance(choice, list):
            data[f"action-{member_id}"] = "roles"
            data[f"roles-{member_id}"] = choice
        else:
            data[f"action-{member_id}"] = choice
    return data


def deliver(app) -> None:
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output


def reviews(app, org_id: int) -> list[AccessReview]:
    with app.app_context():
        found = list(db.session.scalars(select(AccessReview).where(AccessReview.organization_id == org_id)))
        for review in found:
            db.session.expunge(review)
        return found


def events(app, event_type: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))
        for event in found:
            db.session.expunge(event)
        return found


def due_at(app, org_id: int):
    with app.app_context():
        return db.session.get(OrganizationProgress, org_id).access_review_due_at


def test_due_a_year_after_going_live_and_shown_once_the_first_reminder_is(app, cqmr, clock):
    world = live_team(app)
    with app.app_context():
        went_live = db.session.get(Organization, world["org"]).went_live_at
    assert due_at(app, world["org"]) == went_live + timedelta(days=365)
    clock.advance(300 * DAY)
    admin = client_of(app, world["admin_email"])
    assert "access review" not in page_text(admin.get("/tasks"))
    assert "Yearly access review: due by" in page_text(admin.get("/team"))
    clock.advance(36 * DAY)  # 29 days before it is due
    admin = client_of(app, world["admin_email"])
    text = page_text(admin.get("/tasks"))
    assert "Your yearly access review is due by" in text
    # Only administrators are asked; the others' task lists say nothing of it.
    assert "access review" not in page_text(client_of(app, world["member_email"]).get("/tasks"))
    page = admin.get(REVIEW)
    assert page.status_code == 200
    text = page_text(page)
    for name in ("Ada Admin", "Max Member", "Vic Viewer"):
        assert name in text
    assert "Last signed in" in text and "Last went to the CQMR: never" in text


def test_reminded_at_30_7_and_1_days_each_once(app, cqmr, clock, mailbox):
    world = live_team(app)

    def remind() -> str:
        result = app.test_cli_runner().invoke(args=["reminders", "send"])
        assert result.exit_code == 0, result.output
        return result.output

    def review_mails() -> int:
        return sum("access review" in m["Subject"] for m in mailbox.to(world["admin_email"]))

    clock.advance(YEAR - 31 * DAY)
    assert "0 about access reviews" in remind() and review_mails() == 0
    for days_before in (30, 7, 1):
        clock.offset = timedelta(days=365 - days_before, hours=1)
        assert "1 about access reviews" in remind()
        assert "0 about access reviews" in remind()  # never twice
        assert review_mails() == (30, 7, 1).index(days_before) + 1
    body = mailbox.to(world["admin_email"])[-1].get_payload(decode=True).decode()
    assert "tomorrow" in body and "/team/access-review" in body
    # Only administrators are reminded.
    assert not [m for m in mailbox.to(world["member_email"]) if "access review" in m["Subject"]]
    with app.app_context():
        kinds = db.session.scalars(select(AuditEvent.details).where(AuditEvent.event_type == "reminder.sent"))
        assert sorted(json.loads(d)["kind"] for d in kinds) == [
            "access_review_1d",
            "access_review_30d",
            "access_review_7d",
        ]


def test_a_completed_review_removes_and_changes_access_in_the_cqmr_at_once(app, cqmr, clock):
    world = live_team(app)
    before = {person: cqmr_user(cqmr, world[person]) for person in ("admin", "member", "viewer")}
    assert all(user["active"] for user in before.values())
    clock.advance(YEAR - 10 * DAY)
    admin = client_of(app, world["admin_email"])
    response = submit(admin, REVIEW, decisions(app, world, member=["viewer"], viewer="remove"))
    assert response.status_code == 302
    assert "1 kept, 1 with new roles, 1 removed" in page_text(admin.get(REVIEW))
    # Read back over SCIM: the removed person is inactive, the changed one has the new role,
    # the administrator is unchanged.
    assert cqmr_user(cqmr, world["viewer"])["active"] is False
    member = cqmr_user(cqmr, world["member"])
    assert member["active"] is True and roles_of(member) == {"viewer"}
    assert cqmr_user(cqmr, world["admin"]) == before["admin"]
    with app.app_context():
        assert db.session.get(User, world["viewer"]).deactivated_at is not None
    (review,) = reviews(app, world["org"])
    assert review.reviewer_id == world["admin"]
    assert [p["user_id"] for p in review.changed["kept"]] == [world["admin"]]
    assert review.changed["roles_changed"][0]["from"] == ["submitter"]
    assert review.changed["roles_changed"][0]["to"] == ["viewer"]
    assert [p["user_id"] for p in review.changed["removed"]] == [world["viewer"]]
    # The next one is due a year after this one; the team's own audit events are there too.
    assert due_at(app, world["org"]) == review.completed_at + timedelta(days=365)
    assert [e.subject_user_id for e in events(app, "membership.deactivated")] == [world["viewer"]]
    assert len(events(app, "membership.roles_changed")) == 1
    (completed,) = events(app, "access_review.completed")
    assert json.loads(completed.details)["removed"] == [world["viewer"]]
    # The removed person's sessions ended: they can no longer sign in.
    assert sign_in(app.test_client(), world["viewer_email"]).status_code != 302


def test_a_review_the_team_rules_refuse_changes_nothing(app, cqmr, clock):
    world = live_team(app)
    admin = client_of(app, world["admin_email"])
    admin_member = membership_of(app, world["admin"])
    # Removing oneself (the only administrator) is refused, and so the whole review is.
    response = submit(admin, REVIEW, decisions(app, world, admin="remove", viewer="remove"))
    assert response.status_code == 400
    assert "You cannot deactivate your own account" in page_text(response)
    assert "<title>Error:" in response.get_data(as_text=True)
    # Changing roles to none is refused, with the error linked to that person's roles.
    response = submit(admin, REVIEW, decisions(app, world, admin=[], viewer="remove"))
    assert response.status_code == 400
    assert f'href="#roles-{admin_member}-0"' in response.get_data(as_text=True)
    assert "Select at least one role for Ada Admin" in page_text(response)
    assert reviews(app, world["org"]) == []
    assert cqmr_user(cqmr, world["viewer"])["active"] is True
    with app.app_context():
        assert db.session.get(User, world["viewer"]).deactivated_at is None


def test_overdue_without_enforcement_is_flagged_and_changes_no_access(app, cqmr, clock):
    world = live_team(app)
    clock.advance(YEAR + 60 * DAY)  # past the due date and the grace period
    deliver(app)
    operator = operator_client(app)
    listed = operator.get("/operator/?review_overdue=y")
    assert f'id="org-{world["org"]}"' in listed.get_data(as_text=True)
    assert "Access review overdue since" in page_text(listed)
    page = page_text(operator.get(f"/operator/organizations/{world['org']}"))
    assert "Yearly access review Overdue due by" in page
    export = operator.get("/operator/organizations.csv?review_overdue=y")
    (row,) = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert row["Access review due"] == due_at(app, world["org"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    member = client_of(app, world["member_email"])
    assert member.get(GATE).status_code == 200
    assert cqmr_user(cqmr, world["member"])["active"] is True
    assert "it is overdue" in page_text(client_of(app, world["admin_email"]).get("/tasks"))


def test_a_review_not_yet_due_is_not_flagged(app, cqmr, clock):
    world = live_team(app)
    clock.advance(YEAR - DAY)
    operator = operator_client(app)
    assert f'id="org-{world["org"]}"' not in operator.get("/operator/?review_overdue=y").get_data(
        as_text=True
    )
    assert f'id="org-{world["org"]}"' in operator.get("/operator/").get_data(as_text=True)


def test_enforced_the_gate_closes_after_the_grace_and_a_review_reopens_it(app_factory, cqmr, clock):
    app = app_factory(**scim_config(cqmr, ACCESS_REVIEW_ENFORCE=True))
    world = live_team(app)
    clock.advance(YEAR + 29 * DAY)  # overdue, within the grace period
    deliver(app)
    assert cqmr_user(cqmr, world["member"])["active"] is True
    assert client_of(app, world["member_email"]).get(GATE).status_code == 200
    clock.advance(2 * DAY)  # the grace period is over: nothing has run yet
    assert cqmr_user(cqmr, world["member"])["active"] is True
    deliver(app)  # the deliverer's clock pass, as `flask outbox deliver --loop` runs it
    for person in ("admin", "member", "viewer"):
        assert cqmr_user(cqmr, world[person])["active"] is False, person
    refused = client_of(app, world["member_email"]).get(GATE)
    assert refused.status_code == 403 and 'id="missing-access_review"' in refused.get_data(as_text=True)
    assert "yearly access review was due by" in page_text(refused)
    # The administrator confirms the review: the gate reopens and the CQMR follows at once.
    admin = client_of(app, world["admin_email"])
    assert submit(admin, REVIEW, decisions(app, world)).status_code == 302
    for person in ("admin", "member", "viewer"):
        assert cqmr_user(cqmr, world[person])["active"] is True, person
    assert client_of(app, world["member_email"]).get(GATE).status_code == 200


def test_reviews_are_exported_for_an_auditor(app, cqmr, clock):
    world = live_team(app)
    admin = client_of(app, world["admin_email"])
    assert submit(admin, REVIEW, decisions(app, world, viewer="remove")).status_code == 302
    response = admin.get("/team/access-reviews.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {(r["Member"], r["Decision"], r["Roles before"], r["Roles after"]) for r in rows} == {
        (
            "Ada Admin",
            "Kept",
            "Organization administrator; Authorized signer",
            "Organization administrator; Authorized signer",
        ),
        ("Max Member", "Kept", "Data submitter", "Data submitter"),
        ("Vic Viewer", "Removed", "Report viewer", ""),
    }
    assert {r["Reviewer"] for r in rows} == {"Ada Admin"}
    operator = operator_client(app)
    from_operator = operator.get(f"/operator/organizations/{world['org']}/access-reviews.csv")
    assert list(csv.DictReader(io.StringIO(from_operator.get_data(as_text=True)))) == rows
    assert len(events(app, "access_review.exported")) == 1
    (exported,) = [e for e in events(app, "operator.exported") if "access_reviews" in e.details]
    assert json.loads(exported.details)["criteria"] == {"organization_id": world["org"]}


def test_only_the_organizations_own_administrators_review_it(app, cqmr):
    world = live_team(app)
    other = ready_organization(app, "Other Clinic")
    member = client_of(app, world["member_email"])
    assert member.get(REVIEW).status_code == 403
    assert member.get("/team/access-reviews.csv").status_code == 403
    assert member.get(f"/operator/organizations/{world['org']}/access-reviews.csv").status_code == 403
    assert operator_client(app).get(REVIEW).status_code == 403
    # Another organization's administrator cannot decide for this one's members.
    outsider = client_of(app, other["admin_email"])
    response = submit(
        outsider,
        REVIEW,
        {
            f"action-{membership_of(app, other['admin'])}": "keep",
            f"action-{membership_of(app, other['member'])}": "keep",
        },
    )
    assert response.status_code == 302
    foreign = outsider.post(
        REVIEW,
        data={
            "csrf_token": _token(outsider),
            f"action-{membership_of(app, world['viewer'])}": "remove",
        },
    )
    assert foreign.status_code == 400 and "The team changed" in page_text(foreign)
    assert cqmr_user(cqmr, world["viewer"])["active"] is True and reviews(app, world["org"]) == []
    rows = list(csv.DictReader(io.StringIO(outsider.get("/team/access-reviews.csv").get_data(as_text=True))))
    assert {r["Member"] for r in rows} == {"Ada Admin", "Max Member"} and len(reviews(app, other["org"])) == 1


def _token(client) -> str:
    from .helpers import csrf_from

    return csrf_from(client.get(REVIEW).get_data(as_text=True))


def test_the_review_page_costs_the_same_for_10_and_200_members(app_factory, mailbox):
    app = app_factory()
    small, _ = organization_of_size(app, "small.example.org", 10, 2)
    large, _ = organization_of_size(app, "large.example.org", 200, 40)
    with app.app_context():
        db.session.execute(update(Organization).values(went_live_at=utcnow()))
        db.session.commit()

    def statements(client) -> int:
        client.get(REVIEW)
        with counted(app) as seen:
            response = client.get(REVIEW)
        assert response.status_code == 200 and "Confirm review" in page_text(response)
        return len(seen)

    assert statements(large) == statements(small)
    assert page_text(large.get(REVIEW)).count("What happens to") > 150
