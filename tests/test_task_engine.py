"""The task engine: statuses are a pure function of database facts."""

from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership, MembershipRole, Organization, User
from cqmr_wizard.tasks import TASKS, Facts, OrganizationFacts, Status, TaskDefinition, task_statuses
from cqmr_wizard.tasks.definitions import REQUIRED_DETAILS
from cqmr_wizard.tasks.engine import missing_required
from cqmr_wizard.tasks.facts import load_facts, organization_facts

from .builders import make_user


def by_key(facts: Facts) -> dict[str, Status]:
    return {state.task.key: state.status for state in task_statuses(facts, TASKS)}


def test_no_organization_yet():
    statuses = by_key(Facts(email_verified=True))
    assert statuses["eligibility"] is Status.NOT_STARTED
    assert statuses["details"] is Status.CANNOT_START


def test_details_wait_for_eligibility_even_if_answered():
    facts = Facts(
        is_admin=True,
        organization=OrganizationFacts(
            eligibility=None, details_answered=frozenset(REQUIRED_DETAILS), details_confirmed=True
        ),
    )
    assert by_key(facts)["details"] is Status.CANNOT_START


def test_details_progress_from_facts():
    def org(answered, confirmed=False):
        return Facts(
            is_admin=True,
            organization=OrganizationFacts(
                eligibility="covered_entity",
                details_answered=frozenset(answered),
                details_confirmed=confirmed,
            ),
        )

    assert by_key(org(set()))["eligibility"] is Status.COMPLETED
    assert by_key(org(set()))["details"] is Status.NOT_STARTED
    assert by_key(org({"legal_name"}))["details"] is Status.IN_PROGRESS
    assert by_key(org(REQUIRED_DETAILS))["details"] is Status.IN_PROGRESS
    # A confirmation flag alone never completes the task: the answers must be there.
    assert by_key(org({"legal_name"}, confirmed=True))["details"] is Status.IN_PROGRESS
    assert by_key(org(REQUIRED_DETAILS, confirmed=True))["details"] is Status.COMPLETED
    # NPI is optional.
    assert "npi" not in REQUIRED_DETAILS


def test_only_administrators_act_on_organization_tasks():
    def can_act(facts):
        states = {s.task.key: s.can_act for s in task_statuses(facts, TASKS)}
        return states["eligibility"], states["details"]

    member = Facts(is_admin=False, organization=OrganizationFacts(eligibility="covered_entity"))
    assert can_act(member) == (False, False)
    admin = Facts(is_admin=True, organization=OrganizationFacts(eligibility="covered_entity"))
    assert can_act(admin) == (True, True)
    # A task that cannot start yet offers no link, even to an administrator.
    fresh = Facts(is_admin=True, organization=OrganizationFacts())
    assert can_act(fresh) == (True, False)


def test_dependencies_chain_and_missing_required():
    def fixed(status):
        return lambda facts: status

    tasks = [
        TaskDefinition("a", "A", "organization", fixed(Status.COMPLETED), "main.tasks"),
        TaskDefinition("b", "B", "organization", fixed(Status.IN_PROGRESS), "main.tasks", depends_on=("a",)),
        TaskDefinition("c", "C", "user", fixed(Status.COMPLETED), "main.tasks", depends_on=("b",)),
        TaskDefinition("d", "D", "user", fixed(Status.NOT_STARTED), "main.tasks", required=False),
    ]
    states = task_statuses(Facts(), tasks)
    assert [s.status for s in states] == [
        Status.COMPLETED,
        Status.IN_PROGRESS,
        Status.CANNOT_START,
        Status.NOT_STARTED,
    ]
    assert [s.task.key for s in missing_required(states)] == ["b", "c"]


def test_facts_come_from_the_database(app):
    user_id = make_user(app)
    with app.app_context():
        user = db.session.get(User, user_id)
        alone = load_facts(user, None)
        assert alone.email_verified is True and alone.organization is None
        org = Organization(
            eligibility="business_associate",
            legal_name="Acme",
            tax_id="93-1234567",
            address_line1="1 Main St",
            city="Salem",
            state="OR",
        )
        db.session.add(org)
        db.session.flush()
        membership = Membership(organization_id=org.id, user_id=user.id)
        membership.role_rows.append(MembershipRole(role="signer"))
        db.session.add(membership)
        db.session.commit()

        facts = load_facts(user, membership)
        assert facts.is_admin is False
        # The address counts only once every required line is there.
        assert facts.organization.details_answered == {"legal_name", "tax_id"}
        org.postal_code = "97301"
        org.npi = "1234567893"
        assert organization_facts(org).details_answered == {"legal_name", "tax_id", "address", "npi"}
