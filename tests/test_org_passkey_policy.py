"""An organization administrator requires passkeys of their members: the setting (audited,
administrators only), the grace period's task-list alert, then members without a passkey are
sent to add one and sign in with it; and a passkey-only administrator resets a member."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from cqmr_wizard.audit.events import AuditEventType
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Organization, TotpCredential, User, WebAuthnCredential

from .builders import add_member, make_organization, make_user
from .helpers import fresh_code, page_text, sign_in, stored_secret, submit
from .passkey_support import ADD, CHALLENGE, SoftAuthenticator, add_passkey, use_passkey
from .team_support import admin_with_org, signed_in

ADMIN = "admin@alpha.example.org"
MEMBER = "mo@alpha.example.org"
POLICY = "/team/passkeys"
REVERIFY = "/two-step-verification/confirm-it-is-you"
ON = {"required": "required", "confirm": "y"}


def organization(app, admin: str = ADMIN, member: str = MEMBER) -> tuple[int, int]:
    """An organization with an administrator and a viewer, both using an authenticator app."""
    _, org_id = admin_with_org(app, admin)
    return org_id, add_member(app, org_id, roles=("viewer",), email=member).user_id


def policy_events(app, org_id: int) -> list[tuple[str, dict]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.organization_id == org_id, AuditEvent.event_type.like("organization.passkeys%"))
            .order_by(AuditEvent.id)
        )
        return [(row.event_type, json.loads(row.details or "{}")) for row in rows]


def test_an_administrator_turns_the_rule_on_and_off_and_each_change_is_audited(app):
    org_id, _ = organization(app)
    admin = signed_in(app, ADMIN)
    assert "may use an authenticator app or a passkey" in page_text(admin.get("/team"))
    unconfirmed = submit(admin, POLICY, {"required": "required"})
    assert unconfirmed.status_code == 400
    assert "Confirm that you understand what requiring passkeys does" in page_text(unconfirmed)
    assert policy_events(app, org_id) == []

    done = submit(admin, POLICY, ON)
    assert done.status_code == 302
    shown = page_text(admin.get(POLICY))
    assert "Members must now use a passkey" in shown and "Members must use a passkey from" in shown
    again = submit(admin, POLICY, ON)
    assert again.status_code == 400 and "already must use a passkey" in page_text(again)

    assert submit(admin, POLICY, {"required": "optional"}).status_code == 302
    with app.app_context():
        assert db.session.get(Organization, org_id).passkeys_required_at is None
    events = policy_events(app, org_id)
    assert [kind for kind, _ in events] == [
        AuditEventType.ORGANIZATION_PASSKEYS_REQUIRED,
        AuditEventType.ORGANIZATION_PASSKEYS_NOT_REQUIRED,
    ]
    assert "due" in events[0][1]


def test_a_member_without_the_administrator_role_may_not_change_it(app):
    org_id, _ = organization(app)
    member = signed_in(app, MEMBER)
    assert member.get(POLICY).status_code == 403
    assert member.post(POLICY, data=ON).status_code in (400, 403)
    with app.app_context():
        assert db.session.get(Organization, org_id).passkeys_required_at is None


def test_in_the_grace_period_members_are_told_by_when_and_keep_working(app, clock):
    organization(app)
    assert submit(signed_in(app, ADMIN), POLICY, ON).status_code == 302
    clock.advance(timedelta(days=13).total_seconds())
    member = signed_in(app, MEMBER)
    tasks = member.get("/tasks")
    assert tasks.status_code == 200
    assert "Your organization requires a passkey: add one by" in page_text(tasks)
    assert f'href="{ADD}"' in tasks.get_data(as_text=True)
    assert member.get("/account").status_code == 200
    # Once they hold a passkey the alert is gone.
    member.get(ADD)
    code = fresh_code(app, MEMBER, stored_secret(app, MEMBER))
    submit(member, REVERIFY, {"code": code}, page=f"{REVERIFY}?next={ADD}")
    assert add_passkey(member, SoftAuthenticator()).status_code == 302
    assert "requires a passkey" not in page_text(member.get("/tasks"))


def test_after_the_grace_period_a_member_adds_a_passkey_then_signs_in_with_it(app, clock):
    organization(app)
    assert submit(signed_in(app, ADMIN), POLICY, ON).status_code == 302
    clock.advance(timedelta(days=15).total_seconds())
    member = app.test_client()
    assert sign_in(member, MEMBER).status_code == 302  # no passkey yet: the app code still signs in
    for page in ("/tasks", "/account", "/two-step-verification/settings", "/team"):
        assert member.get(page).location == ADD, page
    assert "Members of your organization must sign in with a passkey" in page_text(
        member.get(ADD, follow_redirects=True)
    )
    code = fresh_code(app, MEMBER, stored_secret(app, MEMBER))
    assert submit(member, REVERIFY, {"code": code}, page=f"{REVERIFY}?next={ADD}").location == ADD
    passkey = SoftAuthenticator()
    assert add_passkey(member, passkey).status_code == 302
    assert member.get("/tasks").status_code == 200

    again = app.test_client()
    submit(again, "/sign-in", {"email": MEMBER, "password": "correct horse battery staple 42"})
    shown = page_text(again.get(CHALLENGE))
    assert "Use your passkey" in shown and "authenticator app shows" not in shown
    code = fresh_code(app, MEMBER, stored_secret(app, MEMBER))
    token = _token(again)
    refused = again.post(CHALLENGE, data={"code": code, "csrf_token": token})
    assert refused.status_code == 400 and "sign in with their passkey" in page_text(refused)
    assert use_passkey(again, passkey).status_code == 302
    assert again.get("/tasks").status_code == 200


def test_another_organizations_rule_does_not_touch_this_one(app, clock):
    organization(app)
    organization(app, "admin@beta.example.org", "bo@beta.example.org")
    assert submit(signed_in(app, ADMIN), POLICY, ON).status_code == 302
    clock.advance(timedelta(days=15).total_seconds())
    other = signed_in(app, "bo@beta.example.org")
    assert "requires a passkey" not in page_text(other.get("/tasks"))


def test_a_passkey_only_administrator_resets_a_member_with_their_passkey(app):
    admin_id = make_user(app, "pia@alpha.example.org", full_name="Pia Passkey", mfa=False)
    org_id = make_organization(app, admin_id, ("admin",), legal_name="Alpha Clinic")
    member_id = add_member(app, org_id, roles=("viewer",), email=MEMBER).user_id
    admin = app.test_client()
    sign_in(admin, "pia@alpha.example.org")
    passkey = SoftAuthenticator()
    assert add_passkey(admin, passkey).status_code == 302
    page = f"/two-step-verification/members/{member_id}"
    reset = f"{page}/reset"
    shown = admin.get(page)
    assert shown.status_code == 200
    assert "Use your passkey and reset" in page_text(shown) and 'name="code"' not in shown.get_data(
        as_text=True
    )

    # A passkey that is not theirs is refused and nothing is reset.
    wrong = use_passkey(admin, SoftAuthenticator(), page=page, action=reset)
    assert wrong.status_code == 400 and "not one added to this account" in page_text(wrong)
    with app.app_context():
        assert db.session.scalar(select(TotpCredential.id).where(TotpCredential.user_id == member_id))

    assert use_passkey(admin, passkey, page=page, action=reset).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(TotpCredential.id).where(TotpCredential.user_id == member_id)) is None
        assert db.session.scalar(select(WebAuthnCredential.user_id)) == admin_id
        reset_by = db.session.scalar(
            select(AuditEvent.actor_id).where(AuditEvent.event_type == AuditEventType.MFA_RESET)
        )
        assert reset_by == admin_id
        assert db.session.get(User, member_id) is not None


def _token(client) -> str:
    import re

    html = client.get(CHALLENGE).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
