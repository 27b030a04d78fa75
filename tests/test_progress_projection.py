"""One facts path (a bulk of one equals one of many), and the progress projection: kept exact
at every commit, verified and rebuilt by `flask progress`."""

from datetime import timedelta

from sqlalchemy import delete, select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import (
    Invitation,
    Membership,
    Organization,
    TotpCredential,
    TrainingResource,
    TrainingReview,
    User,
)
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.models.progress import MemberProgress, MemberTaskStatus, OrganizationTaskStatus
from cqmr_wizard.tasks import expected, load_facts, projection, task_list
from cqmr_wizard.tasks.facts import organizations_facts, people_facts
from cqmr_wizard.team import facts as team_facts

from .agreement_helpers import complete_organization, load_agreements, publish_new_version
from .builders import add_member, enroll_mfa, sign_user_agreements
from .helpers import task_status
from .operator_support import FULL_DETAILS, make_org
from .team_support import admin_with_org, invite, signed_in, team_readiness


def build_world(app) -> list[int]:
    plain = make_org(app, None, members=1)
    busy = make_org(
        app,
        "Busy Clinic",
        members=4,
        ready=1,
        ohp_org_id="OHP-1",
        **FULL_DETAILS,
        details_confirmed_at=utcnow(),
    )
    suspended = make_org(app, "Suspended", members=2, suspended_at=utcnow(), suspension_reason="Audit")
    with app.app_context():
        members = db.session.scalars(
            select(Membership).where(Membership.organization_id == busy).order_by(Membership.id)
        ).all()
        signer = members[2]
        from cqmr_wizard.models import MembershipRole

        signer.role_rows.append(MembershipRole(role="signer"))
        db.session.get(User, members[3].user_id).deactivated_at = utcnow()
        everyone = TrainingResource(title="All", audience="all", url="https://a.example")
        for_signers = TrainingResource(title="Signers", audience="signers", url="https://s.example")
        withdrawn = TrainingResource(
            title="Old", audience="all", url="https://o.example", withdrawn_at=utcnow()
        )
        db.session.add_all([everyone, for_signers, withdrawn])
        db.session.flush()
        db.session.add_all(
            [
                TrainingReview(user_id=members[1].user_id, resource_id=everyone.id),
                TrainingReview(user_id=members[1].user_id, resource_id=for_signers.id),  # not a signer
                TrainingReview(user_id=signer.user_id, resource_id=withdrawn.id),
            ]
        )
        now = utcnow()
        db.session.add_all(
            [
                Invitation(
                    organization_id=busy,
                    email="a@x.example",
                    full_name="A",
                    role_keys="viewer",
                    token_hash="a" * 64,
                    expires_at=now + timedelta(days=3),
                ),
                Invitation(
                    organization_id=busy,
                    email="b@x.example",
                    full_name="B",
                    role_keys="viewer",
                    token_hash="b" * 64,
                    expires_at=now - timedelta(days=1),
                ),
            ]
        )
        db.session.commit()
        pending_user = signer.user_id
    enroll_mfa(app, pending_user, recovery_codes_saved=False)
    sign_user_agreements(app, pending_user)
    return [plain, busy, suspended]


def test_facts_of_many_organizations_at_once_equal_each_alone(app):
    ids = build_world(app)
    with app.app_context():
        orgs = db.session.scalars(select(Organization).where(Organization.id.in_(ids))).all()
        together = organizations_facts(orgs)
        memberships = db.session.scalars(select(Membership).where(Membership.organization_id.in_(ids))).all()
        people = people_facts([m.user_id for m in memberships], together)
        for membership in memberships:
            alone = load_facts(membership.user, membership)
            assert people[membership.user_id][1] == alone, membership.user.email
            assert together[membership.organization_id] == alone.organization
        busy = together[ids[1]]
        assert (busy.training_items, busy.training_reviewed) == (2, 1)
        assert (busy.invitations, busy.pending_invitations, busy.signers) == (2, 1, 1)
        assert together[ids[2]].suspended is True


def progress_command(app, name: str):
    return app.test_cli_runner().invoke(args=["progress", name])


def test_verify_names_each_difference_and_rebuild_repairs_them(app):
    plain, busy, _ = build_world(app)
    assert progress_command(app, "verify").exit_code == 0
    with app.app_context():
        member = db.session.scalar(select(Membership).where(Membership.organization_id == busy))
        # Changed behind the session's back, as a missed update would leave it.
        with db.engine.begin() as conn:
            conn.execute(
                update(OrganizationTaskStatus)
                .where(
                    OrganizationTaskStatus.organization_id == plain,
                    OrganizationTaskStatus.task_key == "details",
                )
                .values(status="COMPLETED")
            )
            conn.execute(delete(MemberTaskStatus).where(MemberTaskStatus.user_id == member.user_id))
            conn.execute(delete(MemberProgress).where(MemberProgress.user_id == member.user_id))
    result = progress_command(app, "verify")
    assert result.exit_code == 1
    assert f"organization {plain}: task details is COMPLETED, live NOT_STARTED" in result.output
    assert f"member (user) {member.user_id}: missing from the projection" in result.output
    assert f"organization {busy}: members_ready is 1, live 0" not in result.output
    assert progress_command(app, "rebuild").exit_code == 0
    assert progress_command(app, "verify").exit_code == 0


def test_a_new_agreement_version_reopens_everyones_task_in_the_lists(app):
    load_agreements(app)
    ada, org_id = admin_with_org(app, "ada@willow.example.org", org_name="Willow", agreements=True)
    complete_organization(app, org_id, ada)
    add_member(app, org_id, email="max@willow.example.org", roles=("viewer",), agreements=True, linked=True)
    admin = signed_in(app, "ada@willow.example.org")
    assert team_readiness(admin) == {"ada@willow.example.org": "Ready", "max@willow.example.org": "Ready"}
    publish_new_version(app, "aua")
    assert team_readiness(admin) == {
        "ada@willow.example.org": "Not ready yet",
        "max@willow.example.org": "Not ready yet",
    }
    assert task_status(admin.get("/tasks"), "user_agreements") == "Not started"


def test_bulk_statements_on_fact_rows_reach_the_projection(app):
    """An UPDATE/DELETE statement that bypasses the unit of work is noted before it runs."""
    _, org_id = admin_with_org(app, "ada@willow.example.org", org_name="Willow")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@willow.example.org"))
        db.session.execute(delete(TotpCredential).where(TotpCredential.user_id == user.id))
        db.session.commit()
        status = db.session.scalar(
            select(MemberTaskStatus.status).where(
                MemberTaskStatus.user_id == user.id, MemberTaskStatus.task_key == "mfa"
            )
        )
    assert status == "NOT_STARTED"


def test_an_invitation_expiring_is_applied_by_the_outbox_deliverer_not_by_a_page(app, mailbox, monkeypatch):
    """Time alone changes the team task when the last open invitation expires: the task list
    reads it live at once; no GET commits it; the deliverer's clock pass stores it."""
    admin_with_org(app, "ada@willow.example.org", org_name="Willow", roles=("admin", "signer"))
    admin = signed_in(app, "ada@willow.example.org")
    invite(admin, "Max Member", "max@willow.example.org")
    assert task_status(admin.get("/tasks"), "team") == "In progress"
    later = utcnow() + timedelta(days=30)
    for module in (projection, expected, task_list, team_facts):
        monkeypatch.setattr(module, "utcnow", lambda: later)
    assert task_status(admin.get("/tasks"), "team") == "Completed"

    def stored() -> str:
        with app.app_context():
            return db.session.scalar(
                select(OrganizationTaskStatus.status).where(OrganizationTaskStatus.task_key == "team")
            )

    assert admin.get("/team").status_code == 200
    assert stored() == "IN_PROGRESS"  # a list page reads; it never commits
    result = app.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert stored() == "COMPLETED"
