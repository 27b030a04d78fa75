"""`flask reminders send`: stalled onboarding and unaccepted invitations, never twice."""

from datetime import timedelta

from sqlalchemy import func, select, update

from cqmr_wizard.extensions import db
from cqmr_wizard.models import AuditEvent, Invitation, Organization, ReminderLog, User
from cqmr_wizard.models.base import utcnow
from cqmr_wizard.reminders import period_of

from .operator_support import FULL_DETAILS, make_org


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=["reminders", "send", *args])
    assert result.exit_code == 0, result.output
    return result.output


def admin_email(app, org_id: int) -> str:
    from cqmr_wizard.models import Membership

    with app.app_context():
        return db.session.scalar(
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.organization_id == org_id)
            .order_by(User.id)
            .limit(1)
        )


def invite(app, org_id: int, email: str, *, days_ago: int, **extra) -> int:
    with app.app_context():
        sent = utcnow() - timedelta(days=days_ago)
        invitation = Invitation(
            organization_id=org_id,
            email=email,
            full_name="Ivy Invitee",
            role_keys="submitter",
            token_hash=email.ljust(64, "0")[:64],
            sent_at=sent,
            created_at=sent,
            expires_at=extra.pop("expires_at", utcnow() + timedelta(days=3)),
            **extra,
        )
        db.session.add(invitation)
        db.session.commit()
        return invitation.id


def test_stalled_administrators_are_reminded_once_per_interval(app, mailbox):
    stalled = make_org(app, "Quiet Clinic", members=2, inactive_days=20)
    make_org(app, "Busy Clinic", members=1)
    admin = admin_email(app, stalled)
    output = run(app, "--stalled-days", "14")
    assert (
        "Reminders: 1 sent (1 about stalled onboarding, 0 about invitations, 0 about new agreement "
        "versions to sign, 0 about access reviews)" in output
    )
    message = mailbox.last_to(admin)
    body = message.get_payload(decode=True).decode()
    assert "Quiet Clinic" in body and "more than 14 days" in body
    assert "Give your organization's details" in body and "/tasks" in body
    assert len(mailbox.messages) == 1  # the viewer is not an administrator

    output = run(app, "--stalled-days", "14")
    assert "Reminders: 0 sent" in output and "1 skipped" in output
    assert len(mailbox.messages) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReminderLog)) == 1
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "reminder.sent")
            )
            == 1
        )
        # A week later it is due again: move the log back as if it had been sent then.
        then = utcnow() - timedelta(days=8)
        db.session.execute(
            update(ReminderLog).values(sent_at=then, period=period_of(then, timedelta(days=7)))
        )
        db.session.commit()
    assert "Reminders: 1 sent" in run(app, "--stalled-days", "14")
    assert len(mailbox.to(admin)) == 2


def test_the_unique_key_stops_a_second_send_in_the_same_period(app):
    from cqmr_wizard.reminders import STALLED, claim

    with app.app_context():
        now = utcnow()
        interval = timedelta(days=7)
        assert claim("ada@example.org", STALLED, None, now, interval) is True
        db.session.commit()
        # Even if the time check were passed (a run on a host whose log was not yet visible),
        # the (recipient, kind, period) key refuses a second row.
        db.session.execute(update(ReminderLog).values(sent_at=now - timedelta(days=30)))
        db.session.commit()
        assert claim("ADA@example.org", STALLED, None, now, interval) is False
        assert db.session.scalar(select(func.count()).select_from(ReminderLog)) == 1


def test_finished_suspended_and_recent_organizations_get_nothing(app, mailbox):
    make_org(app, "Recent", members=1, inactive_days=2)
    suspended = make_org(app, "Suspended", members=1, inactive_days=30)
    with app.app_context():
        db.session.execute(
            update(Organization)
            .where(Organization.id == suspended)
            .values(suspended_at=utcnow(), suspension_reason="Audit")
        )
        db.session.commit()
    assert "Reminders: 0 sent" in run(app, "--stalled-days", "14")
    assert mailbox.messages == []


def test_invitees_who_have_not_accepted_are_reminded_once(app, mailbox):
    org_id = make_org(app, "Cascade Health", members=1)
    invite(app, org_id, "ivy@example.org", days_ago=10)
    invite(app, org_id, "new@example.org", days_ago=1)
    invite(app, org_id, "done@example.org", days_ago=10, accepted_at=utcnow())
    invite(app, org_id, "gone@example.org", days_ago=10, revoked_at=utcnow())
    invite(app, org_id, "late@example.org", days_ago=10, expires_at=utcnow() - timedelta(days=1))
    output = run(app, "--stalled-days", "7")
    assert "1 about invitations" in output
    body = mailbox.last_to("ivy@example.org").get_payload(decode=True).decode()
    assert "Cascade Health" in body and "has not been accepted" in body
    assert "token" not in body.lower() and "/invitations/" not in body
    assert [m["To"] for m in mailbox.messages] == ["ivy@example.org"]
    assert "0 about invitations" in run(app, "--stalled-days", "7")
    assert len(mailbox.messages) == 1


def test_default_stalled_days_come_from_the_configuration(app_factory, mailbox):
    app = app_factory(REMINDER_STALLED_DAYS=3)
    org_id = make_org(app, "Quiet", members=1, inactive_days=5, **FULL_DETAILS)
    assert "1 sent" in run(app)
    assert mailbox.last_to(admin_email(app, org_id))
