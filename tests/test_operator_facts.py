"""The bulk facts the operator console reads agree with the task list's own `load_facts`."""

from datetime import timedelta

from sqlalchemy import select

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Invitation, Membership, Organization, TrainingResource, TrainingReview, User
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.tasks import load_facts
from cqmr_wizard.tasks.bulk import member_facts_bulk, organization_facts_bulk

from .agreement_helpers import sign_user_agreements
from .helpers import enroll_mfa
from .operator_support import FULL_DETAILS, make_org


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


def test_bulk_facts_equal_the_task_lists_facts(app):
    ids = build_world(app)
    with app.app_context():
        orgs = db.session.scalars(select(Organization).where(Organization.id.in_(ids))).all()
        org_facts = organization_facts_bulk(orgs)
        members = member_facts_bulk(org_facts)
        checked = 0
        for org_id in ids:
            assert members[org_id], org_id
            for member in members[org_id]:
                expected = load_facts(member.user, member.membership)
                assert member.facts == expected, (org_id, member.user.email)
                assert org_facts[org_id] == expected.organization
                checked += 1
        assert checked == 1 + 3 + 2  # the deactivated member is not listed
        busy = org_facts[ids[1]]
        assert (busy.training_items, busy.training_reviewed) == (2, 1)
        assert (busy.invitations, busy.pending_invitations, busy.signers) == (2, 1, 1)
        assert org_facts[ids[2]].suspended is True
        ready = {m.user.id: m.ready for m in members[ids[1]]}
        assert list(ready.values()).count(True) == 1


def test_the_every_organization_path_gives_the_same_facts(app, monkeypatch):
    """Above IN_LIST_LIMIT organizations the queries read every row instead of a long IN list."""
    from cqmr_wizard.agreements import facts as agreement_facts
    from cqmr_wizard.tasks import bulk
    from cqmr_wizard.training import facts as training_facts

    ids = build_world(app)
    with app.app_context():
        orgs = db.session.scalars(select(Organization)).all()
        narrow = organization_facts_bulk(orgs)
        narrow_members = member_facts_bulk(narrow)
        for module in (bulk, training_facts, agreement_facts):
            monkeypatch.setattr(module, "IN_LIST_LIMIT", 1)
        wide = organization_facts_bulk(orgs)
        assert wide == narrow and set(wide) == set(ids)
        wide_members = member_facts_bulk(wide)
        assert {k: [m.facts for m in v] for k, v in wide_members.items()} == {
            k: [m.facts for m in v] for k, v in narrow_members.items()
        }
