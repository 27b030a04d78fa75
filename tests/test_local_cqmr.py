"""The local CQMR that `make run` starts: a conforming SCIM 2.0 service behind a bearer token,
and a relying party of the local provider that admits only active, provisioned people."""

from __future__ import annotations

import re
import secrets
from html import unescape

import requests
from scim2_tester import check_server
from scim2_tester.utils import Status

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def text(response: requests.Response) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.text, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def provision(cqmr, account: dict, *, organization: str, roles: list[str], active: bool = True) -> str:
    """Create the person as the wizard's provisioning would; returns the SCIM User id."""
    given, family = account["name"].split(" ", 1)
    user = cqmr.scim(
        "POST",
        "Users",
        {
            "schemas": [USER],
            "userName": account["sub"],
            "externalId": f"wizard-{secrets.token_hex(4)}",
            "name": {"givenName": given, "familyName": family},
            "emails": [{"value": account["email"], "primary": True}],
            "active": active,
            "roles": [{"value": role} for role in roles],
        },
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    group = cqmr.scim(
        "POST", "Groups", {"schemas": [GROUP], "displayName": organization, "members": [{"value": user_id}]}
    )
    assert group.status_code == 201, group.text
    return user_id


def set_active(cqmr, user_id: str, active: bool) -> None:
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": active}]}
    response = cqmr.scim("PATCH", f"Users/{user_id}", patch)
    assert response.status_code in (200, 204), response.text


def test_scim2_tester_finds_no_error(local_cqmr):
    results = check_server(local_cqmr.scim_client())
    failures = [f"{r.title}: {r.reason}" for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    assert failures == []
    # It really exercised both resource types end to end, not only discovery.
    passed = {(r.resource_type, tag) for r in results if r.status == Status.SUCCESS for tag in r.tags}
    for resource_type in ("User", "Group"):
        for tag in ("crud:create", "crud:read", "crud:update", "crud:delete"):
            assert (resource_type, tag) in passed, (resource_type, tag)


def test_scim_refuses_a_missing_or_wrong_token(local_cqmr):
    user = {"schemas": [USER], "userName": f"intruder-{secrets.token_hex(4)}", "active": True}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {local_cqmr.token}"}):
        listing = requests.get(f"{local_cqmr.scim_url}/Users", headers=headers, timeout=10)
        assert listing.status_code == 401
        assert listing.headers["WWW-Authenticate"].startswith("Bearer")
        created = requests.post(f"{local_cqmr.scim_url}/Users", json=user, headers=headers, timeout=10)
        assert created.status_code == 401
    found = local_cqmr.scim("GET", f'Users?filter=userName eq "{user["userName"]}"')
    assert found.status_code == 200
    assert found.json()["totalResults"] == 0


def test_a_provisioned_person_signs_in_and_sees_name_organization_and_roles(local_cqmr):
    org = local_cqmr.idp.add_organization(name="Willamette Valley Family Clinic")
    account = local_cqmr.idp.add_account(organization=org, name="Pat Alvarez")
    provision(
        local_cqmr,
        account,
        organization="Willamette Valley Family Clinic",
        roles=["administrator", "submitter"],
    )

    page = local_cqmr.sign_in(account)

    assert page.status_code == 200
    assert page.url == f"{local_cqmr.base_url}/"
    assert (
        "Signed in to the CQMR as Pat Alvarez, Willamette Valley Family Clinic, roles administrator, submitter"
        in text(page)
    )


def test_someone_not_provisioned_is_refused(local_cqmr):
    account = local_cqmr.idp.add_account(name="Robin Fields")

    page = local_cqmr.sign_in(account)

    assert page.status_code == 403
    assert "You do not have access to the CQMR" in text(page)
    assert account["sub"] in text(page)
    assert "Signed in" not in text(page)


def test_an_inactive_person_is_refused_and_access_follows_the_active_flag(local_cqmr):
    org = local_cqmr.idp.add_organization(name="Cascade Community Health Center")
    account = local_cqmr.idp.add_account(organization=org, name="Lee Nguyen")
    user_id = provision(
        local_cqmr, account, organization="Cascade Community Health Center", roles=["submitter"], active=False
    )
    http = requests.Session()

    page = local_cqmr.sign_in(account, http=http)
    assert page.status_code == 403
    assert "Your CQMR account is not active" in text(page)

    set_active(local_cqmr, user_id, True)
    assert "Signed in to the CQMR as Lee Nguyen" in text(http.get(f"{local_cqmr.base_url}/", timeout=10))

    # Deprovisioned: going straight to the CQMR with the open session is refused at once.
    set_active(local_cqmr, user_id, False)
    again = http.get(f"{local_cqmr.base_url}/", timeout=10)
    assert again.status_code == 403
    assert "You do not have access to the CQMR" in text(again)


def test_a_sign_in_started_for_another_provider_is_refused(local_cqmr):
    response = requests.get(
        f"{local_cqmr.base_url}/login",
        params={
            "iss": "https://rogue.example",
            "login_hint": "ohp-x",
            "target_link_uri": local_cqmr.base_url,
        },
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "Unknown sign-in provider" in text(response)


def test_initiate_login_sends_the_hint_to_the_provider_and_keeps_the_target_on_the_cqmr(local_cqmr):
    account = local_cqmr.idp.add_account(name="Sam Okafor")
    provision(local_cqmr, account, organization="Test Clinic", roles=["viewer"])
    http = requests.Session()

    started = http.post(
        f"{local_cqmr.base_url}/login",
        data={
            "iss": local_cqmr.idp.issuer,
            "login_hint": account["sub"],
            "target_link_uri": "http://evil.example/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert started.status_code == 302
    location = started.headers["Location"]
    assert location.startswith(f"{local_cqmr.idp.issuer}/")
    assert f"login_hint={account['sub']}" in location
    assert "code_challenge_method=S256" in location

    page = http.get(local_cqmr.idp.authorize(location, account, http=http), timeout=10)
    assert page.url == f"{local_cqmr.base_url}/"
    assert "Signed in to the CQMR as Sam Okafor" in text(page)


def test_a_forged_callback_signs_no_one_in(local_cqmr):
    http = requests.Session()
    response = http.get(f"{local_cqmr.base_url}/callback", params={"code": "x", "state": "y"}, timeout=10)
    assert response.status_code == 400
    assert "Sign in with OneHealthPort" in text(http.get(f"{local_cqmr.base_url}/", timeout=10))


def test_resources_survive_a_restart(start_local_cqmr):
    cqmr = start_local_cqmr(wired=False)
    created = cqmr.scim("POST", "Users", {"schemas": [USER], "userName": "ohp-keep", "active": True})
    assert created.status_code == 201
    user_id = created.json()["id"]
    version = created.json()["meta"]["version"]

    cqmr.stop()
    cqmr.start()

    kept = cqmr.scim("GET", f"Users/{user_id}")
    assert kept.status_code == 200
    assert kept.json()["userName"] == "ohp-keep"
    set_active(cqmr, user_id, False)
    assert cqmr.scim("GET", f"Users/{user_id}").json()["meta"]["version"] != version
