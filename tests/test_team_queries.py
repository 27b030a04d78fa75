"""The team page, a member page and the task list issue the same number of SQL statements
whatever the size of the organization (10 or 200 members)."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event, select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Invitation, Organization
from cqmr_wizard.models.base import utcnow

from .agreement_helpers import complete_organization
from .builders import add_member
from .helpers import page_text
from .scale_support import seed_members
from .team_support import admin_with_org, signed_in, user_id_of


@contextmanager
def counted(app):
    """Count the statements sent to the database while the block runs."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def organization_of_size(app, domain: str, members: int, invitations: int):
    """An organization at `domain` with this many members and open invitations; its
    administrator's signed-in client and the path of one member's page."""
    admin_email = f"admin@{domain}"
    _, org = admin_with_org(app, admin_email, org_name=domain, agreements=True)
    seed_members(app, org, members - 1, domain, invitations)
    member = add_member(
        app, org, email=f"zed@{domain}", roles=("signer",), mfa=True, agreements=True, linked=True
    ).membership_id
    return signed_in(app, admin_email), f"/team/members/{member}"


def queries(app, client, path: str) -> int:
    client.get(path)  # warm: the session row is written on the first request after sign-in
    with counted(app) as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements)


PATHS = (
    "/team",
    "/team?role=signer&q=m0",
    "/team?readiness=ready",
    "/team?readiness=not_ready&page=2",
    "/team?readiness=invited",
    "/team?page=3",
    "/tasks",
)


def test_team_page_member_page_and_task_list_cost_the_same_for_10_and_200_members(app_factory, mailbox):
    app = app_factory()
    small, small_member = organization_of_size(app, "small.example.org", 10, 2)
    large, large_member = organization_of_size(app, "large.example.org", 200, 40)
    small_counts = {path: queries(app, small, path) for path in PATHS}
    large_counts = {path: queries(app, large, path) for path in PATHS}
    assert large_counts == small_counts, (small_counts, large_counts)
    assert queries(app, large, large_member) == queries(app, small, small_member)
    # The statuses, the team's notes and the agreement facts behind the re-sign banners (current
    # versions, their windows and extensions, the organization's and the person's signatures
    # and returned copies): a fixed number, whatever the size.
    assert small_counts["/tasks"] <= 10, small_counts


def test_the_large_team_pages_show_the_right_people(app_factory, mailbox):
    app = app_factory()
    admin, _ = organization_of_size(app, "large.example.org", 200, 40)
    html = admin.get("/team?readiness=deactivated").get_data(as_text=True)
    expected = {f"m{i:03d}@large.example.org" for i in range(199) if i % 11 == 5}
    shown = set(re.findall(r'data-email="([^"]+)"', html))
    assert shown <= expected and len(shown) == min(len(expected), 20)
    assert "18 people match the filter" in page_text(admin.get("/team?readiness=deactivated"))
    html = admin.get("/team?readiness=invited&q=invitee 03").get_data(as_text=True)
    assert set(re.findall(r'data-email="([^"]+)"', html)) == {
        f"i{i:03d}@large.example.org" for i in range(30, 40)
    }
    # "Ready" is the gate's answer: while the organization's own tasks are not done (its
    # invitations are open, its agreements unsigned) nobody is.
    assert "0 people match the filter" in page_text(admin.get("/team?readiness=ready"))
    with app.app_context():
        org_id = db.session.scalar(
            select(Organization.id).where(Organization.legal_name == "large.example.org")
        )
        db.session.execute(
            update(Invitation).where(Invitation.organization_id == org_id).values(revoked_at=utcnow())
        )
        db.session.commit()
    complete_organization(app, org_id, user_id_of(app, "zed@large.example.org"))
    html = admin.get("/team?readiness=ready").get_data(as_text=True)
    # Only the administrator and zed have both factors, their own OneHealthPort link and their agreements.
    assert set(re.findall(r'data-email="([^"]+)"', html)) == {
        "admin@large.example.org",
        "zed@large.example.org",
    }
