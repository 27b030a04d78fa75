"""Issue 15, item 5: ids and integer parameters out of the database's range are 404 / 400."""

from __future__ import annotations

import pytest

from .helpers import page_text
from .operator_support import make_org, member_client, operator_client

BAD_IDS = ["99999999999999999999", "2147483648", "-1", "abc", "1e3"]


def id_urls(app) -> list[tuple[str, str]]:
    """(method, path) of every route with an integer in its path, with each bad value in place
    of the integer."""
    urls = []
    for rule in app.url_map.iter_rules():
        int_args = [
            name for name, conv in rule._converters.items() if type(conv).__name__.endswith("IntConverter")
        ]
        if not int_args or rule.endpoint == "static":
            continue
        for bad in BAD_IDS:
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", bad)
                path = path.replace(f"<{name}>", "x")
                path = path.replace(f"<path:{name}>", "x")
            urls.append((("GET" if "GET" in rule.methods else "POST"), path))
    return urls


def test_every_id_route_answers_404_for_ids_out_of_range(app):
    org_id = make_org(app, "Clinic")
    clients = [operator_client(app), member_client(app, "admin@example.org", org_id)[0]]
    urls = id_urls(app)
    assert len(urls) >= 25 * len(BAD_IDS)
    wrong = []
    for client in clients:
        for method, url in urls:
            status = client.open(url, method=method).status_code
            if status != 404:
                wrong.append((url, status))
    assert wrong == []


def test_an_id_in_range_still_reaches_its_page(app):
    org_id = make_org(app, "Clinic")
    client = operator_client(app)
    assert client.get(f"/operator/organizations/{org_id}").status_code == 200
    assert client.get("/operator/organizations/2147483647").status_code == 404


@pytest.mark.parametrize("value", ["9999999999999999999", "²", "99999999999"])
def test_audit_search_by_a_number_out_of_range_is_400_with_a_message(app, value):
    client = operator_client(app)
    for field in ("organization", "user"):
        response = client.get(f"/operator/audit?{field}={value}")
        assert response.status_code == 400
        assert "has that number" in page_text(response)


@pytest.mark.parametrize("value", ["99999999999999999999", "-3", "two"])
def test_team_page_number_out_of_range_is_400_with_a_message(app, value):
    org_id = make_org(app, "Clinic")
    client, _ = member_client(app, "admin@example.org", org_id)
    response = client.get(f"/team?page={value}")
    assert response.status_code == 400
    assert "must be a whole number from 1 to 1000000" in page_text(response)
