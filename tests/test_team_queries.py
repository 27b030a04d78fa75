"""The team page and the task list issue the same number of SQL queries whatever the size of
the organization."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from cqmr_wizard.extensions import db

from .team_support import add_member, admin_with_org, invite, signed_in


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
    administrator's signed-in client."""
    admin_email = f"admin@{domain}"
    _, org = admin_with_org(app, admin_email, org_name=domain)
    for i in range(members - 1):
        roles = ("signer", "viewer") if i % 2 else ("submitter",)
        add_member(app, org, f"m{i:03d}@{domain}", roles, mfa=bool(i % 3), agreements=i % 5 == 1)
    admin = signed_in(app, admin_email)
    for i in range(invitations):
        invite(admin, f"Invitee {i}", f"i{i:03d}@{domain}", ("viewer", "signer"))
    return admin


def queries(app, client, path: str) -> int:
    client.get(path)  # warm: the session row is written on the first request after sign-in
    with counted(app) as statements:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(statements)


PATHS = ("/team", "/team?role=signer&q=m0", "/team?readiness=ready", "/team?page=2", "/tasks")


def test_team_page_and_task_list_query_counts_do_not_grow(app_factory, mailbox):
    app = app_factory(INVITATION_RATE_LIMIT=1000)
    small = organization_of_size(app, "small.example.org", 2, 1)
    large = organization_of_size(app, "large.example.org", 40, 12)
    small_counts = {path: queries(app, small, path) for path in PATHS}
    large_counts = {path: queries(app, large, path) for path in PATHS}
    assert large_counts == small_counts, (small_counts, large_counts)
    assert all(n < 30 for n in small_counts.values()), small_counts
