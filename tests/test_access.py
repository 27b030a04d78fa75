"""Every view declares who may use it; the declaration is enforced before the view runs."""

import pytest
from sqlalchemy import update

from cqmr_wizard.access import Access, allow, decide, view_access
from cqmr_wizard.extensions import db
from cqmr_wizard.models import Organization, User
from cqmr_wizard.models.base import utcnow

from .builders import make_organization, make_user
from .helpers import csrf_from, sign_in

SIGN_IN = "/sign-in"
TASKS = "/tasks"
SECOND_FACTOR = "/two-step-verification/"
ORGANIZATION_LEVELS = (Access.MEMBER, Access.ORG_ADMIN, Access.SIGNER)


def visitor(app, kind: str):
    """A client for one kind of visitor, signed in as far as that kind gets."""
    client = app.test_client()
    if kind == "anonymous":
        return client
    email = f"{kind}@example.org"
    user_id = make_user(app, email)
    roles = {"member": ("submitter",), "admin": ("admin",), "signer": ("signer",), "offboarded": ("admin",)}
    org_id = make_organization(app, user_id, roles=roles[kind]) if kind in roles else None
    if kind == "operator":
        with app.app_context():
            db.session.execute(update(User).where(User.id == user_id).values(is_operator=True))
            db.session.commit()
    response = sign_in(client, email, second_factor=kind != "password_only")
    assert response.status_code == 302, response.status_code
    if kind == "offboarded":  # signed in before the organization's participation ended
        with app.app_context():
            db.session.execute(
                update(Organization).where(Organization.id == org_id).values(offboarded_at=utcnow())
            )
            db.session.commit()
    return client


# What each visitor gets from a page of each level: 200, 403, or where they are sent. "offboarded"
# is an administrator signed in when their organization's participation ended.
EXPECTED = {
    #              anonymous, password_only, no_org, member, admin, signer, operator, offboarded
    Access.PUBLIC: (200, 200, 200, 200, 200, 200, 200, 200),
    Access.ANONYMOUS: (200, TASKS, TASKS, TASKS, TASKS, TASKS, TASKS, TASKS),
    Access.SIGNED_IN: (SIGN_IN, 200, 200, 200, 200, 200, 200, 200),
    Access.USER: (SIGN_IN, SECOND_FACTOR, 200, 200, 200, 200, 200, 403),
    Access.APPLICANT: (SIGN_IN, SECOND_FACTOR, 200, 200, 200, 200, 403, 403),
    Access.FOUNDER: (SIGN_IN, SECOND_FACTOR, 200, 403, 200, 403, 403, 403),
    Access.INVITEE: (200, SECOND_FACTOR, 200, 200, 200, 200, 403, 403),
    Access.MEMBER: (SIGN_IN, SECOND_FACTOR, TASKS, 200, 200, 200, 403, 403),
    Access.ORG_ADMIN: (SIGN_IN, SECOND_FACTOR, TASKS, 403, 200, 403, 403, 403),
    Access.SIGNER: (SIGN_IN, SECOND_FACTOR, TASKS, 403, 403, 200, 403, 403),
    Access.OPERATOR: (SIGN_IN, SECOND_FACTOR, 403, 403, 403, 403, 200, 403),
    None: (403, 403, 403, 403, 403, 403, 403, 403),  # a view that declares nothing
}
KINDS = ("anonymous", "password_only", "no_org", "member", "admin", "signer", "operator", "offboarded")


# decide() over every combination of level and visitor facts: (auth, operator, membership roles,
# whether the membership's organization was offboarded).
FACTS = {
    "anonymous": (None, False, None, False),
    "password_only": ("password", False, None, False),
    "password_only_admin": ("password", False, {"admin"}, False),
    "password_only_operator": ("password", True, None, False),
    "no_org": ("full", False, None, False),
    "member": ("full", False, {"submitter"}, False),
    "admin": ("full", False, {"admin"}, False),
    "signer": ("full", False, {"signer"}, False),
    "admin_signer": ("full", False, {"admin", "signer"}, False),
    "operator": ("full", True, None, False),
    "password_only_offboarded": ("password", False, {"admin"}, True),
    "offboarded_member": ("full", False, {"submitter"}, True),
    "offboarded_admin_signer": ("full", False, {"admin", "signer"}, True),
}
A, S, F, T = "allow", "sign_in", "second_factor", "tasks"
R, L, X = "refuse", "lacks_role", "operator"  # the three refusals (403), by their reason
E = "offboarded"  # the 403 page of an organization whose participation ended
VERDICTS = {
    #              anon pw pw_adm pw_op no_org member admin signer adm_sig operator pw_off off_mem off_adm
    Access.PUBLIC: (A, A, A, A, A, A, A, A, A, A, A, A, A),
    Access.ANONYMOUS: (A, T, T, T, T, T, T, T, T, T, T, T, T),
    Access.SIGNED_IN: (S, A, A, A, A, A, A, A, A, A, A, A, A),
    Access.USER: (S, F, F, F, A, A, A, A, A, A, E, E, E),
    Access.APPLICANT: (S, F, F, F, A, A, A, A, A, X, E, E, E),
    Access.FOUNDER: (S, F, F, F, A, L, A, L, A, X, E, E, E),
    Access.INVITEE: (A, F, F, F, A, A, A, A, A, X, E, E, E),
    Access.MEMBER: (S, F, F, F, T, A, A, A, A, X, E, E, E),
    Access.ORG_ADMIN: (S, F, F, F, T, L, A, L, A, X, E, E, E),
    Access.SIGNER: (S, F, F, F, T, L, L, A, A, X, E, E, E),
    Access.OPERATOR: (S, F, F, F, R, R, R, R, R, A, E, E, E),
    None: (R, R, R, R, R, R, R, R, R, R, R, R, R),
}


@pytest.mark.parametrize("level", list(VERDICTS), ids=lambda level: level.name if level else "UNDECLARED")
def test_the_decision_for_every_level_and_visitor(level):
    seen = {
        kind: decide(level, auth, operator, frozenset(roles) if roles is not None else None, offboarded)
        for kind, (auth, operator, roles, offboarded) in FACTS.items()
    }
    assert seen == dict(zip(FACTS, VERDICTS[level], strict=True))


def outcome(response):
    if response.status_code == 302:
        return response.location.split("?")[0]
    return response.status_code


@pytest.mark.parametrize("kind", KINDS)
def test_each_level_admits_exactly_its_visitors(app_factory, kind):
    app = app_factory()
    for level in EXPECTED:
        name = level.name if level else "UNDECLARED"

        def view():
            return "inside"

        app.add_url_rule(f"/probe/{name}", f"probe_{name}", allow(level)(view) if level else view)
    client = visitor(app, kind)
    seen, wanted = {}, {}
    for level, expected in EXPECTED.items():
        name = level.name if level else "UNDECLARED"
        seen[name] = outcome(client.get(f"/probe/{name}"))
        wanted[name] = expected[KINDS.index(kind)]
    assert seen == wanted


def test_every_route_of_the_app_declares_who_may_use_it(app):
    undeclared = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if view_access(rule.endpoint) is None:
                undeclared.append(rule.rule)
    assert undeclared == []


def pages_by_level(app) -> dict[Access, list[str]]:
    """The app's own GET pages without URL parameters, grouped by declared level."""
    pages: dict[Access, list[str]] = {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.arguments or "GET" not in rule.methods or rule.endpoint == "static":
                continue
            pages.setdefault(view_access(rule.endpoint), []).append(rule.rule)
    return pages


@pytest.mark.parametrize("kind", ["anonymous", "password_only", "no_org", "member", "operator", "offboarded"])
def test_the_apps_pages_refuse_whom_their_level_refuses(app_factory, kind):
    """Run the table above over the real pages, for every outcome that is a refusal."""
    app = app_factory()
    client = visitor(app, kind)
    checked = 0
    for level, paths in pages_by_level(app).items():
        expected = EXPECTED[level][KINDS.index(kind)]
        if expected == 200 or level is Access.ANONYMOUS:
            continue
        for path in paths:
            assert outcome(client.get(path)) == expected, (path, level)
            checked += 1
    assert checked > 0


def test_a_refused_form_post_is_sent_to_sign_in_without_a_return_address(app, client):
    token = csrf_from(client.get(SIGN_IN).get_data(as_text=True))
    response = client.post(
        "/onboarding/eligibility", data={"csrf_token": token, "eligibility": "covered_entity"}
    )
    assert response.status_code == 302 and response.location == SIGN_IN
    response = client.post("/sign-out-everywhere", data={"csrf_token": token})
    assert response.status_code == 302 and response.location == SIGN_IN


def test_posts_without_a_csrf_token_are_refused(app):
    client = visitor(app, "admin")
    response = client.post("/onboarding/details/legal-name", data={"legal_name": "Forged"})
    assert response.status_code == 400
    assert "This page has expired" in response.get_data(as_text=True)
