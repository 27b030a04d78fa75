"""Bulk invitations from a CSV file: all or nothing, with per-row problems by line number."""

from __future__ import annotations

import io
import re

from .builders import add_member
from .helpers import page_text, submit
from .team_support import admin_with_org, invitations, invite, signed_in

HEADER = "name,email,roles\n"


def upload(client, content: bytes | str, filename: str = "team.csv"):
    data = content.encode("utf-8") if isinstance(content, str) else content
    return submit(
        client,
        "/team/invite/upload",
        {"csv_file": (io.BytesIO(data), filename, "text/csv")},
        content_type="multipart/form-data",
    )


def admin_client(app):
    admin_with_org(app)
    return signed_in(app, "admin@alpha.example.org")


def test_valid_file_invites_everyone_with_role_names_or_keys(app, mailbox):
    admin = admin_client(app)
    content = (
        "\ufeffName , Email,Roles\n"  # Excel's BOM and loose header spacing are fine
        "Zoë Ångström,zoe@alpha.example.org,Organization administrator; Authorized signer\n"
        "\n"
        '"Turing, Alan",ALAN@alpha.example.org,submitter;VIEWER\n'
        "Grace Hopper,grace@alpha.example.org,data submitter\n"
    )
    response = upload(admin, content)
    assert response.status_code == 302, page_text(response)
    rows = {r.email: r for r in invitations(app)}
    assert set(rows) == {"zoe@alpha.example.org", "alan@alpha.example.org", "grace@alpha.example.org"}
    assert rows["zoe@alpha.example.org"].full_name == "Zoë Ångström"
    assert rows["zoe@alpha.example.org"].roles == ["admin", "signer"]
    assert rows["alan@alpha.example.org"].full_name == "Turing, Alan"
    assert rows["alan@alpha.example.org"].roles == ["submitter", "viewer"]
    for email in rows:
        assert mailbox.last_to(email)
    assert "3 invitations were sent" in page_text(admin.get("/team"))


def test_bad_rows_are_each_reported_by_line_and_nothing_is_created(app, mailbox):
    admin = admin_client(app)
    content = HEADER + (
        "Good Person,good@alpha.example.org,viewer\n"  # line 2: fine
        ",noname@alpha.example.org,viewer\n"  # line 3: no name
        "Bad Email,not-an-email,viewer\n"  # line 4
        "No Role,norole@alpha.example.org,\n"  # line 5
        "Boss,boss@alpha.example.org,Owner;viewer;Janitor\n"  # line 6: unknown roles
    )
    response = upload(admin, content)
    assert response.status_code == 400
    text = page_text(response)
    assert text.startswith("Error: ")
    assert "problems on 4 rows" in text and "Nobody was invited" in text
    html = response.get_data(as_text=True)
    assert '<td data-label="Line">3</td><td data-label="Problem">Enter the person&#39;s name</td>' in html
    assert (
        '<td data-label="Line">4</td><td data-label="Problem">“not-an-email” is not an email address' in html
    )
    assert '<td data-label="Line">5</td><td data-label="Problem">Give at least one role</td>' in html
    assert '<td data-label="Line">6</td><td data-label="Problem">Unknown roles “Owner”, “Janitor”' in html
    assert invitations(app) == [] and mailbox.messages == []
    # Each row problem is linked from the error summary to its line in the table.
    summary = html[html.index('id="error-summary"') : html.index("</div>", html.index('id="error-summary"'))]
    links = re.findall(r'<a class="usa-link" href="#(row-problem-\d+)">Line (\d+): ', summary)
    assert [line for _, line in links] == ["3", "4", "5", "6"]
    for anchor, _ in links:
        assert f'id="{anchor}"' in html


def test_the_template_file_is_offered_and_can_be_uploaded_as_it_is(app, mailbox):
    admin = admin_client(app)
    page = admin.get("/team/invite/upload").get_data(as_text=True)
    href = re.search(r'href="([^"]+)" download>Download a template CSV file', page).group(1)
    template = admin.get(href)
    assert template.status_code == 200 and template.data.startswith(b"name,email,roles")
    assert "Roles you can give" in page and "Roles you can give" in page[page.index('id="csv_file-hint"') :]
    assert upload(admin, template.data).status_code == 302
    assert {r.email for r in invitations(app)} == {"ada@example.org", "alan@example.org"}


def test_duplicates_in_the_file_and_against_members_and_invitations(app, mailbox):
    _, org = admin_with_org(app)
    admin = signed_in(app, "admin@alpha.example.org")
    add_member(app, org, email="member@alpha.example.org", roles=("viewer",))
    _, beta = admin_with_org(app, "boss@beta.example.org", org_name="Beta Health")
    invite(admin, "Waiting", "waiting@alpha.example.org")
    mailbox.clear()
    content = HEADER + (
        "One,one@alpha.example.org,viewer\n"  # 2
        "One Again,ONE@alpha.example.org,viewer\n"  # 3: duplicate of line 2
        "Member,member@alpha.example.org,viewer\n"  # 4: already a member here
        "Waiting,waiting@alpha.example.org,viewer\n"  # 5: already invited
        "Boss,boss@beta.example.org,viewer\n"  # 6: in another organization: not revealed
    )
    response = upload(admin, content)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert (
        '<td data-label="Line">3</td><td data-label="Problem">one@alpha.example.org is also on line 2</td>'
        in html
    )
    assert (
        '<td data-label="Line">4</td><td data-label="Problem">member@alpha.example.org is already a member of your organization'
        in html
    )
    assert (
        '<td data-label="Line">5</td><td data-label="Problem">waiting@alpha.example.org already has an invitation waiting'
        in html
    )
    assert '<td data-label="Line">6</td>' not in html and "another organization" not in html
    assert [r.email for r in invitations(app)] == ["waiting@alpha.example.org"]
    assert mailbox.messages == []


def test_utf16_file_is_refused_clearly(app, mailbox):
    admin = admin_client(app)
    response = upload(admin, (HEADER + "Zoë,zoe@alpha.example.org,viewer\n").encode("utf-16"))
    assert response.status_code == 400
    text = page_text(response)
    assert "must be saved as CSV UTF-8" in text and "UTF-16" in text
    assert invitations(app) == []


def test_latin1_file_is_refused_with_the_line(app, mailbox):
    admin = admin_client(app)
    content = HEADER + "Ann,ann@alpha.example.org,viewer\nZoë,zoe@alpha.example.org,viewer\n"
    response = upload(admin, content.encode("latin-1"))
    assert response.status_code == 400
    assert "must be saved as CSV UTF-8; line 3 has characters in another encoding" in page_text(response)
    assert invitations(app) == []


def test_file_over_the_size_limit_is_refused(app, mailbox):
    admin = admin_client(app)
    row = "Somebody With A Long Name,someone{}@alpha.example.org,viewer\n"
    content = HEADER + "".join(row.format(i) for i in range(6000))
    assert 256 * 1024 < len(content) < 2 * 1024 * 1024
    response = upload(admin, content)
    assert response.status_code == 400
    assert "The file must be smaller than 256 KB" in page_text(response)
    assert invitations(app) == []


def test_request_over_max_content_length_is_413(app, mailbox):
    admin = admin_client(app)
    response = upload(admin, b"x" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert "too large" in page_text(response)
    assert invitations(app) == []


def test_too_many_rows_is_refused(app_factory, mailbox):
    app = app_factory(INVITATION_CSV_MAX_ROWS=3)
    admin = admin_client(app)
    content = HEADER + "".join(f"P{i},p{i}@alpha.example.org,viewer\n" for i in range(4))
    response = upload(admin, content)
    assert response.status_code == 400
    assert "more than 3 people" in page_text(response)
    assert invitations(app) == []


def test_missing_columns_empty_and_headless_files(app, mailbox):
    admin = admin_client(app)
    response = upload(admin, "name,email\nAnn,ann@alpha.example.org\n")
    assert response.status_code == 400 and "roles is missing" in page_text(response)
    response = upload(admin, "")
    assert response.status_code == 400 and "The selected file is empty" in page_text(response)
    response = upload(admin, HEADER)
    assert response.status_code == 400 and "nobody to invite" in page_text(response)
    response = submit(admin, "/team/invite/upload", {})
    assert response.status_code == 400 and "Select a CSV file to upload" in page_text(response)
    assert invitations(app) == []


def test_file_larger_than_the_rate_limit_is_refused_whole(app_factory, mailbox):
    app = app_factory(INVITATION_RATE_LIMIT=3)
    admin = admin_client(app)
    content = HEADER + "".join(f"P{i},p{i}@alpha.example.org,viewer\n" for i in range(4))
    response = upload(admin, content)
    assert response.status_code == 429
    assert "can send 3 invitations" in page_text(response)
    assert invitations(app) == [] and mailbox.messages == []
