"""The team page and member management: roles, the last-administrator rule, deactivation
ending live sessions, readiness, filters, pagination, access levels and the team task."""

from __future__ import annotations

import json
import re

from .agreement_helpers import complete_organization
from .builders import add_member, connect_organization, make_user
from .helpers import PASSWORD, csrf_from, page_text, sign_in, submit, task_status
from .team_support import (
    admin_with_org,
    events,
    invite,
    membership_of,
    roles_of,
    session_count,
    signed_in,
    user_id_of,
)

ADMIN = "admin@alpha.example.org"


def team_rows(response) -> dict[str, str]:
    """Email → the row's visible text, for every row of the team table."""
    html = response.get_data(as_text=True)
    rows = re.findall(r'<tr data-email="([^"]+)">(.*?)</tr>', html, flags=re.S)
    return {email: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip() for email, body in rows}


def test_team_page_lists_members_and_invitations_with_roles_and_readiness(app, mailbox):
    _, org = admin_with_org(app)
    connect_organization(app, org)
    add_member(
        app,
        org,
        email="ready@alpha.example.org",
        name="Rita Ready",
        roles=("signer", "viewer"),
        agreements=True,
        linked=True,
    )
    complete_organization(app, org, user_id_of(app, "ready@alpha.example.org"))
    add_member(app, org, email="nomfa@alpha.example.org", name="Nick NoMfa", roles=("submitter",), mfa=False)
    admin = signed_in(app, ADMIN)
    before = admin.get("/team")
    # Email verified, OneHealthPort, two-step verification, user agreements, status.
    assert cells(before, "ready@alpha.example.org")[1:] == ["Yes", "Yes", "Completed", "Completed", "Ready"]
    assert status_colour(before, "ready@alpha.example.org") == "bg-green"
    invite(admin, "Ivy Invited", "ivy@alpha.example.org", ("viewer",))
    response = admin.get("/team")
    assert response.status_code == 200
    rows = team_rows(response)
    assert "Authorized signer, Report viewer" in rows["ready@alpha.example.org"]
    # "Ready" is the gate's answer: the organization is live, so an open invitation changes
    # nobody's readiness.
    assert cells(response, "ready@alpha.example.org")[1:] == ["Yes", "Yes", "Completed", "Completed", "Ready"]
    assert cells(response, "nomfa@alpha.example.org")[1:] == [
        "Yes",
        "No",
        "Not started",
        "Not started",
        "Not ready yet",
    ]
    assert cells(response, ADMIN)[-1] == "Not ready yet"  # her own agreements are not signed
    assert cells(response, "ivy@alpha.example.org")[-1] == "Invited"
    # The Status column's tag is coloured by where the person stands, as the other tags are.
    colours = {email: status_colour(response, email) for email in rows}
    assert colours["nomfa@alpha.example.org"] == colours[ADMIN] == "bg-gold text-ink"
    assert colours["ivy@alpha.example.org"] == "bg-primary"
    text = page_text(response)
    assert "User agreements" in text and "Two-step verification" in text
    for name in ("Organization administrator", "Authorized signer", "Data submitter", "Report viewer"):
        assert name in text


CELLS = (
    "Roles",
    "Email verified",
    "OneHealthPort linked",
    "Two-step verification",
    "User agreements",
    "Status",
)


def status_colour(response, email: str) -> str:
    """The colour classes of the Status tag in the row for `email`."""
    html = response.get_data(as_text=True)
    row = re.search(r'<tr data-email="' + re.escape(email) + r'">(.*?)</tr>', html, flags=re.S).group(1)
    cell = re.search(r'data-label="Status"[^>]*>(.*?)</td>', row, flags=re.S).group(1)
    return re.search(r'class="usa-tag ([^"]*?) cqmr-task-status"', cell).group(1).strip()


def cells(response, email: str) -> list[str | None]:
    """The visible text of the row's cells for `email`, by their labels, in the order of CELLS."""
    html = response.get_data(as_text=True)
    row = re.search(r'<tr data-email="' + re.escape(email) + r'">(.*?)</tr>', html, flags=re.S)
    found = {
        label: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
        for label, cell in re.findall(
            r'<td[^>]*data-label="([^"]+)"[^>]*>(.*?)</td>', row.group(1), flags=re.S
        )
    }
    return [found.get(label) for label in CELLS]


def test_readiness_columns_show_email_sso_mfa_and_agreements(app):
    from cqmr_wizard.extensions import db
    from cqmr_wizard.models import OidcIdentity

    _, org = admin_with_org(app)
    member_id = add_member(
        app, org, email="lin@alpha.example.org", name="Lin Linked", roles=("viewer",), verified=False
    ).membership_id
    with app.app_context():
        db.session.add(
            OidcIdentity(
                user_id=user_id_of(app, "lin@alpha.example.org"), issuer="https://idp.example", subject="lin"
            )
        )
        db.session.commit()
    admin = signed_in(app, ADMIN)
    response = admin.get("/team")
    roles, verified, sso, mfa, agreements, status = cells(response, "lin@alpha.example.org")
    assert (roles, verified, sso, mfa) == ("Report viewer", "No", "Yes", "Completed")
    assert agreements in ("Not available yet", "Not started", "Cannot start yet")
    assert status == "Not ready yet"  # the email address is not verified
    assert cells(response, ADMIN)[2] == "No"  # the administrator has not linked OneHealthPort
    assert "Linked" in page_text(admin.get(f"/team/members/{member_id}"))


def test_filters_by_role_readiness_and_text(app, mailbox):
    _, org = admin_with_org(app, agreements=True)
    add_member(
        app,
        org,
        email="ready@alpha.example.org",
        name="Rita Ready",
        roles=("signer",),
        agreements=True,
        linked=True,
    )
    complete_organization(app, org, user_id_of(app, "ready@alpha.example.org"))
    add_member(app, org, email="nomfa@alpha.example.org", name="Nick NoMfa", roles=("submitter",), mfa=False)
    admin = signed_in(app, ADMIN)
    assert set(team_rows(admin.get("/team?readiness=ready"))) == {ADMIN, "ready@alpha.example.org"}
    assert set(team_rows(admin.get("/team?readiness=not_ready"))) == {"nomfa@alpha.example.org"}
    invite(admin, "Ivy Invited", "ivy@alpha.example.org", ("signer",))
    assert set(team_rows(admin.get("/team?role=signer"))) == {
        "ready@alpha.example.org",
        "ivy@alpha.example.org",
    }
    # The organization is live: the open invitation changes nobody's readiness.
    assert set(team_rows(admin.get("/team?readiness=ready"))) == {ADMIN, "ready@alpha.example.org"}
    assert set(team_rows(admin.get("/team?readiness=not_ready"))) == {"nomfa@alpha.example.org"}
    assert set(team_rows(admin.get("/team?readiness=invited"))) == {"ivy@alpha.example.org"}
    assert set(team_rows(admin.get("/team?q=NICK"))) == {"nomfa@alpha.example.org"}
    assert set(team_rows(admin.get("/team?q=ivy%40"))) == {"ivy@alpha.example.org"}
    assert set(team_rows(admin.get("/team?q=%25"))) == set()  # a wildcard is just a character
    # Nonsense filter values are ignored, never an error; a page number must be a number (400).
    response = admin.get("/team?role=owner&readiness=zzz")
    assert response.status_code == 200 and len(team_rows(response)) == 4
    assert admin.get("/team?page=abc").status_code == 400


def test_pagination_happens_on_the_server(app_factory, mailbox):
    app = app_factory(TEAM_PAGE_SIZE=5)
    _, org = admin_with_org(app)
    for i in range(11):
        add_member(
            app,
            org,
            email=f"m{i:02d}@alpha.example.org",
            name=f"Member {i:02d}",
            roles=("viewer",),
            mfa=False,
        )
    admin = signed_in(app, ADMIN)
    first = admin.get("/team")
    assert len(team_rows(first)) == 5
    assert "page 1 of 3" in page_text(first)
    assert 'aria-label="Next page"' in first.get_data(as_text=True)
    third = admin.get("/team?page=3")
    assert len(team_rows(third)) == 2
    seen = set(team_rows(first)) | set(team_rows(admin.get("/team?page=2"))) | set(team_rows(third))
    assert len(seen) == 12
    beyond = admin.get("/team?page=99")
    assert beyond.status_code == 200 and team_rows(beyond) == team_rows(third)
    filtered = admin.get("/team?q=member+1&page=1")
    assert set(team_rows(filtered)) == {"m10@alpha.example.org"}
    html = admin.get("/team?q=member&page=1").get_data(as_text=True)
    assert 'href="/team?page=2&amp;q=member"' in html


def test_change_roles_is_audited_with_old_and_new(app):
    admin_id, org = admin_with_org(app)
    member_id = add_member(app, org, email="sam@alpha.example.org", roles=("viewer",)).membership_id
    admin = signed_in(app, ADMIN)
    page = admin.get(f"/team/members/{member_id}/roles")
    assert page.status_code == 200
    assert "May sign the organization agreements." in page_text(page)
    response = submit(admin, f"/team/members/{member_id}/roles", {"roles": ["signer", "submitter"]})
    assert response.status_code == 302
    assert roles_of(app, "sam@alpha.example.org") == ["signer", "submitter"]
    [event] = events(app, "membership.roles_changed")
    assert event.actor_id == admin_id
    assert event.subject_user_id == user_id_of(app, "sam@alpha.example.org")
    assert json.loads(event.details)["old"] == ["viewer"]
    assert json.loads(event.details)["new"] == ["signer", "submitter"]
    response = submit(admin, f"/team/members/{member_id}/roles", {"roles": []})
    assert response.status_code == 400 and "Select at least one role" in page_text(response)
    response = submit(admin, f"/team/members/{member_id}/roles", {"roles": ["root"]})
    assert response.status_code == 400 and "Select roles from the list" in page_text(response)
    assert roles_of(app, "sam@alpha.example.org") == ["signer", "submitter"]


def test_the_last_administrator_cannot_be_demoted_or_deactivated(app):
    _, org = admin_with_org(app)
    admin = signed_in(app, ADMIN)
    own = membership_of(app, ADMIN).id
    response = submit(admin, f"/team/members/{own}/roles", {"roles": ["signer"]})
    assert response.status_code == 400
    text = page_text(response)
    assert text.startswith("Error: ")
    assert "only administrator" in text and "at least one" in text
    assert roles_of(app, ADMIN) == ["admin"]

    # With a second administrator, one of them may step down; then the other is the last.
    second = add_member(app, org, email="second@alpha.example.org", roles=("admin",)).membership_id
    assert submit(admin, f"/team/members/{own}/roles", {"roles": ["admin", "signer"]}).status_code == 302
    assert submit(admin, f"/team/members/{second}/roles", {"roles": ["viewer"]}).status_code == 302
    response = submit(admin, f"/team/members/{own}/roles", {"roles": ["signer"]})
    assert response.status_code == 400 and "only administrator" in page_text(response)

    # A deactivated administrator does not count.
    assert submit(admin, f"/team/members/{second}/roles", {"roles": ["admin"]}).status_code == 302
    assert submit(admin, f"/team/members/{second}/deactivate", {}).status_code == 302
    response = submit(admin, f"/team/members/{own}/roles", {"roles": ["signer"]})
    assert response.status_code == 400 and "only administrator" in page_text(response)
    # Nor can an administrator deactivate themself.
    response = submit(admin, f"/team/members/{own}/deactivate", {})
    assert response.status_code == 400 and "cannot deactivate your own account" in page_text(response)


def test_deactivation_ends_the_members_live_session_at_once(app):
    _, org = admin_with_org(app)
    member_id = add_member(
        app, org, email="dan@alpha.example.org", name="Dan Doe", roles=("submitter",)
    ).membership_id
    dan = signed_in(app, "dan@alpha.example.org")
    dan_id = user_id_of(app, "dan@alpha.example.org")
    assert session_count(app, dan_id) == 1
    admin = signed_in(app, ADMIN)
    assert "Deactivate Dan Doe" in page_text(admin.get(f"/team/members/{member_id}"))
    response = submit(admin, f"/team/members/{member_id}/deactivate", {})
    assert response.status_code == 302
    assert session_count(app, dan_id) == 0
    # Dan's next request with the old cookie is refused.
    response = dan.get("/tasks")
    assert response.status_code == 302 and "/sign-in" in response.location
    response = sign_in(dan, "dan@alpha.example.org")
    assert response.status_code == 400 and "deactivated" in page_text(response)
    [event] = events(app, "membership.deactivated")
    details = json.loads(event.details)
    assert details["old"] == "active" and details["new"] == "deactivated"
    assert json.loads(events(app, "auth.sessions_ended")[0].details)["sessions_ended"] == 1
    assert cells(admin.get("/team"), "dan@alpha.example.org")[-1] == "Deactivated"

    response = submit(admin, f"/team/members/{member_id}/reactivate", {}, page=f"/team/members/{member_id}")
    assert response.status_code == 302
    assert json.loads(events(app, "membership.reactivated")[0].details)["new"] == "active"
    assert signed_in(app, "dan@alpha.example.org")


def test_member_page_links_to_the_second_factor_reset(app):
    _, org = admin_with_org(app)
    member_id = add_member(app, org, email="sam@alpha.example.org", roles=("viewer",)).membership_id
    admin = signed_in(app, ADMIN)
    html = admin.get(f"/team/members/{member_id}").get_data(as_text=True)
    user_id = user_id_of(app, "sam@alpha.example.org")
    assert f'href="/two-step-verification/members/{user_id}"' in html
    assert admin.get(f"/two-step-verification/members/{user_id}").status_code == 200


def test_access_levels_of_the_team_pages(app):
    _, org = admin_with_org(app)
    member_id = add_member(
        app, org, email="vic@alpha.example.org", roles=("viewer", "signer", "submitter")
    ).membership_id
    make_user(app, "loner@example.org")
    admin = signed_in(app, ADMIN)
    invite(admin, "Ivy", "ivy@alpha.example.org")
    invitation_id = re.search(r"/team/invitations/(\d+)", admin.get("/team").get_data(as_text=True)).group(1)
    pages = [
        "/team",
        "/team/invite",
        "/team/invite/upload",
        f"/team/members/{member_id}",
        f"/team/members/{member_id}/roles",
        f"/team/members/{member_id}/deactivate",
        f"/team/invitations/{invitation_id}",
        f"/team/invitations/{invitation_id}/revoke",
    ]
    posts = [f"/team/members/{member_id}/reactivate", f"/team/invitations/{invitation_id}/resend"]
    anonymous = app.test_client()
    member = signed_in(app, "vic@alpha.example.org")
    loner = signed_in(app, "loner@example.org")
    half = app.test_client()
    assert sign_in(half, ADMIN, second_factor=False).status_code == 302
    for path in pages:
        assert admin.get(path).status_code == 200, path
        response = anonymous.get(path)
        assert response.status_code == 302 and "/sign-in" in response.location, path
        assert member.get(path).status_code == 403, path
        response = loner.get(path)
        assert response.status_code == 302 and response.location.endswith("/tasks"), path
        response = half.get(path)
        assert response.status_code == 302 and "/two-step-verification" in response.location, path
    token = csrf_from(member.get("/tasks").get_data(as_text=True))
    # A valid token of the visitor's own session, so that the answer is the access policy's, not CSRF's.
    anonymous_token = csrf_from(anonymous.get("/sign-in").get_data(as_text=True))
    forms = [
        "/team/invite",
        "/team/invite/upload",
        f"/team/members/{member_id}/roles",
        f"/team/members/{member_id}/deactivate",
        f"/team/invitations/{invitation_id}/revoke",
    ]
    for path in forms + posts:
        data = {"csrf_token": token, "roles": ["admin"], "full_name": "Vic", "email": "x@y.org"}
        assert member.post(path, data=data).status_code == 403, path
        response = anonymous.post(path, data={"csrf_token": anonymous_token})
        assert response.status_code == 302 and "/sign-in" in response.location, path
    assert "Team</a>" in admin.get("/tasks").get_data(as_text=True)
    assert "Team</a>" not in member.get("/tasks").get_data(as_text=True)
    assert roles_of(app, "vic@alpha.example.org") == ["signer", "submitter", "viewer"]


def test_team_task_moves_from_not_started_to_completed(app, mailbox):
    admin_with_org(app)
    admin = signed_in(app, ADMIN)
    assert task_status(admin.get("/tasks"), "team") == "Not started"
    invite(admin, "Sue Signer", "sue@alpha.example.org", ("signer",))
    assert task_status(admin.get("/tasks"), "team") == "In progress"
    page = page_text(admin.get("/team"))
    assert "This task is complete when" in page and "1 still waiting" in page
    from .helpers import link_from

    link = link_from(mailbox.last_to("sue@alpha.example.org"), "/invitations/")
    guest = app.test_client()
    assert submit(guest, link, {"full_name": "Sue Signer", "password": PASSWORD}).status_code == 302
    assert task_status(admin.get("/tasks"), "team") == "Completed"
    # A new open invitation puts it back in progress; revoking it completes it again.
    invite(admin, "Ned", "ned@alpha.example.org")
    assert task_status(admin.get("/tasks"), "team") == "In progress"
    ned = re.search(r"/team/invitations/(\d+)", admin.get("/team?q=ned").get_data(as_text=True)).group(1)
    submit(admin, f"/team/invitations/{ned}/revoke", {})
    assert task_status(admin.get("/tasks"), "team") == "Completed"


def test_invited_member_sees_own_tasks_and_organization_progress_read_only(app, mailbox):
    admin_with_org(app)
    admin = signed_in(app, ADMIN)
    invite(admin, "Bea", "bea@alpha.example.org", ("viewer",))
    from .helpers import link_from

    link = link_from(mailbox.last_to("bea@alpha.example.org"), "/invitations/")
    bea = app.test_client()
    response = submit(bea, link, {"full_name": "Bea Builder", "password": PASSWORD})
    assert response.status_code == 302
    # Her next stop is setting up two-step verification.
    response = bea.get("/tasks")
    assert response.status_code == 302 and "/two-step-verification" in response.location
    from .builders import enroll_mfa

    enroll_mfa(app, user_id_of(app, "bea@alpha.example.org"))
    bea = signed_in(app, "bea@alpha.example.org")
    tasks = bea.get("/tasks")
    html = tasks.get_data(as_text=True)
    assert task_status(tasks, "team") == "In progress" or task_status(tasks, "team") == "Completed"
    assert 'href="/team"' not in html  # organization tasks are not actionable for her
    assert "administrator completes these tasks" in page_text(tasks)
    assert bea.get("/team").status_code == 403


def test_an_administrator_who_steps_down_is_taken_to_the_task_list(app):
    _, org = admin_with_org(app)
    add_member(app, org, email="second@alpha.example.org", roles=("admin",))
    admin = signed_in(app, ADMIN)
    own = membership_of(app, ADMIN).id
    response = submit(admin, f"/team/members/{own}/roles", {"roles": ["signer"]})
    assert response.status_code == 302 and response.location.endswith("/tasks")
    assert roles_of(app, ADMIN) == ["signer"]
    assert admin.get("/team").status_code == 403
