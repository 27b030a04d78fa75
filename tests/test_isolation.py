"""Tenant isolation: every route that takes an id, called by organization A's administrator with
organization B's ids, answers 404 or 403 and changes nothing."""

from __future__ import annotations

import json

from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from cqmr_wizard import models
from cqmr_wizard.extensions import db
from cqmr_wizard.models import Invitation, Membership, MembershipRole, Organization, User
from cqmr_wizard.models.base import utcnow

from .builders import add_member, enroll_mfa
from .helpers import PASSWORD, csrf_from, stored_secret, totp_now
from .team_support import admin_with_org, invite, signed_in

# B's rows get ids from here up, so that no id of B's is also the id of one of A's rows.
B_FIRST_ID = 1000
# Rows that change on every request or record refusals, not organization data.
NOT_DATA = {"web_session", "audit_event", "mfa_state"}


def organization_b(app) -> list[int]:
    """Organization B with an administrator, a member and an open invitation; its ids."""
    from cqmr_wizard.auth.passwords import hash_password

    with app.app_context():
        org = Organization(id=B_FIRST_ID + 1, eligibility="covered_entity", legal_name="Beta Health")
        db.session.add(org)
        users = [
            User(
                id=B_FIRST_ID + n,
                email=f"b{n}@beta.example.org",
                full_name=f"Beta {n}",
                password_hash=hash_password(PASSWORD),
                email_verified_at=utcnow(),
            )
            for n in (1, 2, 3, 4)
        ]
        db.session.add_all(users)
        db.session.flush()
        for n, roles in ((1, ("admin", "signer")), (2, ("viewer",)), (3, ("submitter",))):
            membership = Membership(id=B_FIRST_ID + n, organization_id=org.id, user_id=B_FIRST_ID + n)
            membership.role_rows.extend(
                MembershipRole(id=B_FIRST_ID + 10 * n + i, role=r) for i, r in enumerate(roles)
            )
            db.session.add(membership)
        users[2].deactivated_at = utcnow()
        db.session.add(
            Invitation(
                id=B_FIRST_ID + 1,
                organization_id=org.id,
                email="invitee@beta.example.org",
                full_name="Beta Invitee",
                role_keys="viewer",
                token_hash="b" * 64,
                expires_at=utcnow().replace(year=utcnow().year + 1),
                invited_by_id=B_FIRST_ID + 1,
            )
        )
        join_request = getattr(models, "JoinRequest", None)
        if join_request is not None:  # someone asking to join B through OneHealthPort
            db.session.add(
                join_request(
                    id=B_FIRST_ID + 1, user_id=B_FIRST_ID + 4, organization_id=org.id, ohp_org_id="ohp-beta"
                )
            )
        db.session.commit()
    for n in (1, 2):
        enroll_mfa(app, B_FIRST_ID + n)
    return sorted({B_FIRST_ID + n for n in (1, 2, 3)})


def snapshot(app) -> dict[str, list]:
    """Every row of every table holding organization data."""
    with app.app_context():
        tables = {}
        for table in db.metadata.sorted_tables:
            if table.name in NOT_DATA:
                continue
            rows = db.session.execute(select(table)).all()
            tables[table.name] = sorted(json.dumps(list(r), default=str) for r in rows)
        return tables


def id_routes(app):
    """Each rule that takes an integer or *_id argument, with its argument names."""
    for rule in app.url_map.iter_rules():
        ids = [
            name
            for name, converter in rule._converters.items()
            if isinstance(converter, IntegerConverter) or name == "id" or name.endswith("_id")
        ]
        if ids:
            yield rule, ids


def filler(rule, name: str) -> str:
    """Some valid value for an argument that is not an id."""
    items = getattr(rule._converters[name], "items", None)
    return sorted(items)[0] if items else "x"


def test_every_id_route_refuses_another_organizations_ids(app_factory, mailbox):
    app = app_factory(INVITATION_RATE_LIMIT=1000)
    _, org_a = admin_with_org(app, roles=("admin", "signer", "submitter", "viewer"))
    add_member(app, org_a, email="member@alpha.example.org", roles=("viewer",))
    admin = signed_in(app, "admin@alpha.example.org")
    invite(admin, "Alpha Invitee", "invitee@alpha.example.org")
    b_ids = organization_b(app)
    code = totp_now(stored_secret(app, "admin@alpha.example.org"))

    routes = list(id_routes(app))
    assert any(rule.endpoint.startswith("team.") for rule, _ in routes)
    before = snapshot(app)
    token = csrf_from(admin.get("/team").get_data(as_text=True))
    checked = []
    for rule, ids in routes:
        for b_id in b_ids:
            values = {name: b_id if name in ids else filler(rule, name) for name in rule.arguments}
            path = app.url_map.bind("localhost").build(rule.endpoint, values)
            if "GET" in rule.methods:
                response = admin.get(path)
                assert response.status_code in (403, 404), (rule.rule, path, response.status_code)
            if "POST" in rule.methods:
                response = admin.post(
                    path,
                    data={
                        "csrf_token": token,
                        "roles": ["viewer"],
                        "full_name": "Mallory",
                        "email": "mallory@alpha.example.org",
                        "code": code,
                        "confirm": "y",
                    },
                )
                assert response.status_code in (403, 404), (rule.rule, path, response.status_code)
            checked.append(path)
    assert snapshot(app) == before
    assert len(checked) >= 3 * len(routes)
    # The same requests with A's own ids do reach A's data (the test can fail).
    own = admin.get(f"/team/members/{b_ids[0] - B_FIRST_ID}")
    assert own.status_code == 200
