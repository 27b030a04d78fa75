"""The operator dashboard: every organization, searched, filtered, sorted, paginated, exported."""

import csv
import io
import json
import re

from sqlalchemy import select

from cqmr_wizard import audit
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent
from cqmr_wizard.models.base import utcnow

from .agreement_helpers import complete_organization
from .helpers import page_text
from .operator_support import FULL_DETAILS, count_queries, make_org, operator_client, row_ids
from .scale_support import seed_organizations
from .team_support import user_id_of


def row_status(row_html: str, key: str) -> str:
    match = re.search(r'data-task="' + key + r'">.*?<span[^>]*>([^<]+)</span>', row_html, re.S)
    assert match, key
    return match.group(1)


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_lists_each_organization_with_its_progress(app):
    done = make_org(
        app,
        "Complete Clinic",
        members=3,
        ready=2,
        **FULL_DETAILS,
        details_confirmed_at=utcnow(),
        ohp_org_id="OHP-7781",
    )
    complete_organization(app, done, user_id_of(app, f"m0-{done}@example.org"))
    fresh = make_org(app, "Fresh Start Health", eligibility="business_associate")
    client = operator_client(app)
    response = client.get("/operator/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = page_text(response)
    assert set(row_ids(response)) == {done, fresh}
    assert "2 organizations" in text
    assert "Fresh Start Health" in text and "Business associate of a HIPAA covered entity" in text
    assert "OneHealthPort OHP-7781" in text
    row = html[html.index(f'id="org-{done}"') :]
    row = row[: row.index("</tr>")]
    assert "2 of 3" in row  # the organization's own tasks are done, and two members' own
    assert row_status(row, "details") == "Completed"
    assert row_status(row, "onehealthport") == "Completed"
    assert row_status(row, "all") == "Completed"
    fresh_row = html[html.index(f'id="org-{fresh}"') :]
    assert row_status(fresh_row[: fresh_row.index("</tr>")], "details") == "In progress"  # its name


def test_search_by_name_tax_id_and_onehealthport_id(app):
    alpha = make_org(app, "Alpha Family Medicine", tax_id="11-1111111")
    beta = make_org(app, "Beta 100% Care", tax_id="22-2222222", ohp_org_id="OHP-BETA-9")
    make_org(app, "Gamma Health", tax_id="33-3333333")
    client = operator_client(app)
    assert row_ids(client.get("/operator/?q=alpha")) == [alpha]
    assert row_ids(client.get("/operator/?q=ALPHA+family")) == [alpha]
    assert row_ids(client.get("/operator/?q=222222222")) == [beta]
    assert row_ids(client.get("/operator/?q=22-2222222")) == [beta]
    assert row_ids(client.get("/operator/?q=ohp-beta")) == [beta]
    assert row_ids(client.get("/operator/?q=100%25")) == [beta]  # % is literal, not a wildcard
    assert row_ids(client.get("/operator/?q=nobody")) == []
    assert "No organizations match" in page_text(client.get("/operator/?q=nobody"))


def test_filter_by_task_status_and_overall(app):
    answered = make_org(app, "Half Done", tax_id="44-4444444", phone="503-555-0101")
    untouched = make_org(app, None)  # nothing answered yet, not even the name
    confirmed = make_org(app, "Confirmed", **FULL_DETAILS, details_confirmed_at=utcnow())
    client = operator_client(app)
    assert row_ids(client.get("/operator/?task=details&status=IN_PROGRESS")) == [answered]
    assert row_ids(client.get("/operator/?task=details&status=NOT_STARTED")) == [untouched]
    assert row_ids(client.get("/operator/?task=details&status=COMPLETED")) == [confirmed]
    assert row_ids(client.get("/operator/?task=eligibility&status=COMPLETED&sort=name")) == [
        confirmed,
        answered,
        untouched,
    ]
    # Nobody has finished every required task: no organization is completed overall.
    assert row_ids(client.get("/operator/?task=all&status=COMPLETED")) == []
    assert set(row_ids(client.get("/operator/?status=IN_PROGRESS"))) == {answered, untouched, confirmed}


def test_filter_stalled_organizations(app):
    stalled = make_org(app, "Quiet Clinic", inactive_days=30)
    busy_but_old = make_org(app, "Busy Clinic", inactive_days=30)
    make_org(app, "New Clinic")
    with app.app_context():
        audit.record("onboarding.answer_saved", organization_id=busy_but_old, details={})
        db.session.commit()
    client = operator_client(app)
    assert row_ids(client.get("/operator/?stalled=10")) == [stalled]
    assert row_ids(client.get("/operator/?stalled=40")) == []
    text = page_text(client.get("/operator/?stalled=10"))
    assert "1 organization" in text


def test_sorting_and_pagination_happen_on_the_server(app_factory):
    app = app_factory(OPERATOR_PAGE_SIZE=10)
    ids = {f"Org {n:02d}": make_org(app, f"Org {n:02d}") for n in range(25)}
    client = operator_client(app)
    by_name = [ids[name] for name in sorted(ids)]
    first = client.get("/operator/?sort=name")
    assert row_ids(first) == by_name[:10]
    assert "25 organizations, page 1 of 3" in page_text(first)
    assert 'aria-label="Next page"' in first.get_data(as_text=True)
    assert row_ids(client.get("/operator/?sort=name&page=3")) == by_name[20:]
    assert row_ids(client.get("/operator/?sort=-name&page=1")) == by_name[::-1][:10]
    assert row_ids(client.get("/operator/?sort=-started")) == sorted(ids.values(), reverse=True)[:10]
    # Page links keep the filters.
    assert (
        "sort=-name"
        in client.get("/operator/?sort=-name")
        .get_data(as_text=True)
        .split('aria-label="Next page"')[0]
        .rsplit("href=", 1)[1]
    )
    assert row_ids(client.get("/operator/?sort=name&page=9")) == []


def test_bad_search_input_is_explained_and_changes_nothing(app):
    make_org(app, "Alpha")
    client = operator_client(app)
    for query in (
        "stalled=abc",
        "stalled=0",
        "status=FINISHED",
        "sort=evil",
        "page=-1",
        "q=" + "x" * 101,
        "task=nope",
    ):
        response = client.get(f"/operator/?{query}")
        assert response.status_code == 400, query
        assert "There is a problem" in page_text(response), query
        assert row_ids(response) == []
        assert client.get(f"/operator/organizations.csv?{query}").status_code == 400


def test_csv_export_follows_the_filters_and_neutralises_formulas(app):
    names = [
        '=HYPERLINK("http://evil.example","x")',
        "+1 Clinic",
        "-2 Clinic",
        "@SUM(A1)",
        "\tTabbed",
        "Plain Clinic",
    ]
    ids = [make_org(app, name, tax_id=f"9{n}-0000000") for n, name in enumerate(names)]
    make_org(app, "Excluded", inactive_days=1)
    client = operator_client(app)
    rows = read_csv(client.get("/operator/organizations.csv?q=clinic&sort=name"))
    assert [r["Legal name"] for r in rows] == ["'+1 Clinic", "'-2 Clinic", "Plain Clinic"]
    rows = read_csv(client.get("/operator/organizations.csv?sort=name"))
    by_id = {int(r["Organization ID"]): r for r in rows}
    assert len(rows) == 7
    assert by_id[ids[0]]["Legal name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_id[ids[3]]["Legal name"] == "'@SUM(A1)"
    assert by_id[ids[4]]["Legal name"] == "'\tTabbed"
    assert by_id[ids[5]]["Legal name"] == "Plain Clinic"
    assert by_id[ids[5]]["Tax ID"] == "95-0000000"
    assert by_id[ids[5]]["Confirm your organization is eligible"] == "Completed"
    assert by_id[ids[5]]["All required tasks"] == "In progress"
    assert by_id[ids[5]]["Members"] == "0"
    with app.app_context():
        exports = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event_type == "operator.exported").order_by(AuditEvent.id)
        ).all()
        assert [json.loads(e.details) for e in exports] == [
            {"export": "organizations", "criteria": {"q": "clinic", "sort": "name"}, "rows": 3},
            {"export": "organizations", "criteria": {"sort": "name"}, "rows": 7},
        ]
        assert exports[0].actor_id is not None


def _queries_for(app, client, url: str) -> int:
    client.get(url)  # warm up: first-request work is not the page's
    with count_queries(app) as counter:
        assert client.get(url).status_code == 200
    return counter["n"]


def test_the_dashboard_and_export_cost_the_same_for_20_and_400_organizations(app_factory):
    app = app_factory()
    seed_organizations(app, 20, "Small")
    client = operator_client(app)
    urls = [
        "/operator/",
        "/operator/?page=2",
        "/operator/?task=details&status=NOT_STARTED",
        "/operator/?task=all&status=IN_PROGRESS&sort=-members",
        "/operator/?stalled=1",
        "/operator/?q=0000000&sort=-activity",
        "/operator/?sort=started",
        "/operator/organizations.csv",
        "/operator/organizations.csv?task=onehealthport&status=COMPLETED",
    ]
    small = {url: _queries_for(app, client, url) for url in urls}
    seed_organizations(app, 380, "Large")
    large = {url: _queries_for(app, client, url) for url in urls}
    assert large == small
    rows = read_csv(client.get("/operator/organizations.csv?task=onehealthport&status=COMPLETED"))
    assert len(rows) == 5 + 95  # every fourth organization of each batch has a OneHealthPort id
    assert all(r["Connect your organization to OneHealthPort"] == "Completed" for r in rows)


def test_the_csv_export_is_streamed(app):
    seed_organizations(app, 30, "Stream")
    response = operator_client(app).get("/operator/organizations.csv")
    assert response.is_streamed
    assert len(read_csv(response)) == 30


def _queries_for(app, client, url: str) -> int:
    client.get(url)  # warm up: first-request work is not the page's
    with count_queries(app) as counter:
        assert client.get(url).status_code == 200
    return counter["n"]


def test_the_dashboard_query_count_does_not_grow_with_organizations(app_factory):
    app = app_factory(OPERATOR_PAGE_SIZE=100)
    for n in range(3):
        make_org(app, f"Small {n}", members=2, tax_id=f"1{n}-0000000")
    client = operator_client(app)
    urls = [
        "/operator/",
        "/operator/?task=details&status=NOT_STARTED",
        "/operator/?stalled=1",
        "/operator/?q=0000000&sort=-activity",
        "/operator/organizations.csv",
    ]
    small = {url: _queries_for(app, client, url) for url in urls}
    for n in range(57):
        make_org(app, f"Large {n}", members=3, tax_id=f"{n + 20}-0000000")
    large = {url: _queries_for(app, client, url) for url in urls}
    assert large == small
