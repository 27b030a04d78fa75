"""The "Go to CQMR" gate: refused, with exactly what is missing and who must do it, until every
required task is complete (computed afresh from the database); then an audited redirect into
the CQMR by OIDC third-party-initiated login."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import OidcIdentity, Organization
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.tasks import TASKS

from .builders import (
    DETAILS,
    add_member,
    enroll_mfa,
    make_organization,
    make_user,
    sign_organization_agreements,
    sign_user_agreements,
)
from .helpers import forge, page_text, sign_in, submit, task_status
from .sso_support import audit_events

GATE = "/go-to-cqmr"
ISSUER = "https://ohp.example.org"
INITIATE = "https://cqmr.example.org/oidc/initiate?tenant=oregon"
TARGET = "https://cqmr.example.org/home"
REQUIRED = [task.key for task in TASKS if task.required]


@pytest.fixture
def app(app_factory):
    return app_factory(
        OIDC_ISSUER=ISSUER,
        OIDC_CLIENT_ID="cqmr-wizard",
        OIDC_CLIENT_SECRET="s",
        CQMR_INITIATE_LOGIN_URI=INITIATE,
        CQMR_TARGET_LINK_URI=TARGET,
    )


def build(app, *, skip: str | None = None, email: str | None = None) -> tuple:
    """A person at the gate with every required task complete except `skip`, built directly in
    the database; returns (signed-in client, user id, organization id or None)."""
    unknown = set(REQUIRED) - {
        "eligibility",
        "onehealthport",
        "details",
        "team",
        "mfa",
        "ohp_account",
        "org_agreements",
        "user_agreements",
    }
    if unknown:
        pytest.fail(
            f"tests/test_gate.py does not know how to complete {sorted(unknown)}: "
            "teach build() how, so the gate is tested against every required task"
        )
    email = email or f"gate-{secrets.token_hex(3)}@example.org"
    user_id = make_user(app, email, mfa=False)
    enroll_mfa(app, user_id, recovery_codes_saved=skip != "mfa")
    org_id = None
    if skip != "eligibility":
        roles = ("admin",) if skip == "team" else ("admin", "signer")
        answers = {} if skip == "details" else {**DETAILS, "details_confirmed_at": utcnow()}
        org_id = make_organization(app, user_id, roles, **answers)
        if skip != "onehealthport":
            with app.app_context():
                org = db.session.get(Organization, org_id)
                org.ohp_org_id = f"OHP-{secrets.token_hex(4)}"
                org.ohp_org_name = "Willamette Valley Clinic"
                if skip != "ohp_account":
                    db.session.add(
                        OidcIdentity(
                            user_id=user_id,
                            issuer=app.config.get("OIDC_ISSUER") or ISSUER,
                            subject=f"sub-{user_id}",
                            email=email,
                        )
                    )
                db.session.commit()
        if skip not in ("org_agreements", "details") and "org_agreements" in REQUIRED:
            sign_organization_agreements(app, user_id, org_id)
    if skip != "user_agreements" and "user_agreements" in REQUIRED:
        sign_user_agreements(app, user_id)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client, user_id, org_id


def missing_rows(response) -> set[str]:
    import re

    return set(re.findall(r'id="missing-([\w-]+)"', response.get_data(as_text=True)))


@pytest.mark.parametrize("missing", REQUIRED)
def test_the_gate_refuses_while_a_required_task_is_not_complete(app, missing):
    client, user_id, org_id = build(app, skip=missing)
    if missing == "eligibility":
        # Without an organization record the person is not a member of anything yet: the gate
        # sends them back to the task list, where eligibility is the first thing to do.
        for response in (client.get(GATE), forge(client, GATE, {}, page="/tasks")):
            assert response.status_code == 302 and response.location == "/tasks"
        assert task_status(client.get("/tasks"), "eligibility") == "Not started"
        assert audit_events(app, "gate.redirected") == []
        return
    # A task that depends on the skipped one cannot start either.
    expected = {missing} | {t.key for t in TASKS if t.required and missing in t.depends_on}
    page = client.get(GATE)
    assert page.status_code == 403
    assert missing_rows(page) == expected
    task = next(t for t in TASKS if t.key == missing)
    assert task.title in page_text(page)
    who = "You" if task.scope == "user" else "You, as your organization's administrator"
    assert who in page_text(page)

    refused = forge(client, GATE, {}, page="/tasks")
    assert refused.status_code == 403
    assert missing_rows(refused) == expected
    events = audit_events(app, "gate.refused")
    assert len(events) == 2 and set(events[-1]["missing"]) == expected
    assert audit_events(app, "gate.redirected") == []


def test_the_gate_opens_when_everything_is_done(app):
    client, user_id, org_id = build(app)
    tasks = client.get("/tasks")
    assert "Every required task is completed" in page_text(tasks)
    ready = client.get(GATE)
    assert ready.status_code == 200
    response = submit(client, GATE, {})
    assert response.status_code == 303
    target = urlsplit(response.location)
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://cqmr.example.org/oidc/initiate"
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params == {
        "tenant": "oregon",
        "iss": ISSUER,
        "login_hint": f"sub-{user_id}",
        "target_link_uri": TARGET,
    }
    redirected = audit_events(app, "gate.redirected")
    assert len(redirected) == 1 and redirected[0]["destination"] == response.location
    assert redirected[0]["organization_id"] == org_id
    # The task page's form may post onward to the CQMR (Chromium applies form-action to redirects).
    assert "https://cqmr.example.org" in tasks.headers["Content-Security-Policy"]


def test_the_gate_reads_the_database_at_the_moment_of_the_request(app):
    """A condition a live organization must keep (its OneHealthPort link) taken away in the
    database: the very next request is refused."""
    client, user_id, org_id = build(app)
    assert client.get(GATE).status_code == 200
    with app.app_context():
        db.session.execute(update(Organization).where(Organization.id == org_id).values(ohp_org_id=None))
        db.session.commit()
    response = forge(client, GATE, {}, page="/tasks")
    assert response.status_code == 403 and "onehealthport" in missing_rows(response)
    assert audit_events(app, "gate.redirected") == []


def test_a_member_learns_who_must_do_the_organization_tasks(app):
    client, admin_id, org_id = build(app, skip="details")
    email = f"member-{secrets.token_hex(3)}@example.org"
    add_member(app, org_id, email=email, roles=("viewer",))
    member = app.test_client()
    assert sign_in(member, email).status_code == 302
    page = member.get(GATE)
    assert page.status_code == 403
    assert "Your organization's administrator" in page_text(page)
    assert "user_agreements" not in REQUIRED or "user_agreements" in missing_rows(page)


def test_without_login_initiation_a_plain_address_is_used(app_factory):
    app = app_factory(
        OIDC_ISSUER=ISSUER, OIDC_CLIENT_ID="c", OIDC_CLIENT_SECRET="s", CQMR_URL="https://cqmr.example.org/"
    )
    client, _, _ = build(app)
    response = submit(client, GATE, {}, page="/tasks")
    assert response.status_code == 303 and response.location == "https://cqmr.example.org/"


def test_without_a_cqmr_address_the_gate_says_so(app_factory):
    app = app_factory(OIDC_ISSUER=ISSUER, OIDC_CLIENT_ID="c", OIDC_CLIENT_SECRET="s")
    client, _, _ = build(app)
    response = submit(client, GATE, {}, page="/tasks")
    assert response.status_code == 503
    assert "not set up" in page_text(response)
    assert len(audit_events(app, "gate.unavailable")) == 1


def test_the_gate_is_for_signed_in_members(app):
    anonymous = app.test_client()
    response = anonymous.get(GATE)
    assert response.status_code == 302 and response.location.startswith("/sign-in")
    assert anonymous.post(GATE).status_code == 400  # no CSRF token
    email = "half@example.org"
    make_user(app, email)
    half = app.test_client()
    assert sign_in(half, email, second_factor=False).status_code == 302
    response = half.get(GATE)
    assert response.status_code == 302 and response.location.startswith("/two-step-verification")
    signed_in, _, _ = build(app)
    assert signed_in.post(GATE).status_code == 400  # a form from this site only
    assert audit_events(app, "gate.redirected") == []


def test_a_suspended_organization_cannot_use_the_gate_and_sees_why(app):
    client, user_id, org_id = build(app)
    assert client.get(GATE).status_code == 200
    with app.app_context():
        org = db.session.get(Organization, org_id)
        org.suspended_at = utcnow()
        org.suspension_reason = "agreement under legal review"
        db.session.commit()
    assert "Go to CQMR</button>" not in client.get("/tasks").get_data(as_text=True)
    response = forge(client, GATE, {}, page="/tasks")  # a page opened before the suspension
    assert response.status_code == 403
    assert missing_rows(response) == {"suspended"}
    assert "agreement under legal review" in page_text(response)
    assert audit_events(app, "gate.redirected") == []
