"""Twenty simultaneous submissions of the same signature make exactly one record."""

from __future__ import annotations

import threading

from sqlalchemy import select

from cqmr_wizard.agreements.consent import give_consent
from cqmr_wizard.agreements.evidence import ClientInfo
from cqmr_wizard.agreements.services import AgreementError, AlreadySigned, current_version, record_review
from cqmr_wizard.agreements.signing import record_signature, sign_organization_agreement
from cqmr_wizard.extensions import db
from cqmr_wizard.models import Membership, Signature, User

from .agreement_helpers import audit_events, count, load_agreements, make_signer_org
from .helpers import stored_secret, totp_now

RACERS = 20
CLIENT = ClientInfo("127.0.0.1", "race", "0" * 64)


def prepared(app) -> tuple[int, int, str]:
    """A designated signer who consented and reviewed the OPA; (user id, version id, hash)."""
    load_agreements(app)
    user_id, _ = make_signer_org(app)
    with app.app_context():
        user = db.session.get(User, user_id)
        version = current_version("opa")
        give_consent(user, CLIENT)
        record_review(user, version, CLIENT, None)
        return user_id, version.id, version.content_sha256


def race(app, attempt) -> list[object]:
    """Run `attempt(user, membership)` in RACERS threads, released together, each in its own app
    context and database session; return what each returned or raised."""
    barrier = threading.Barrier(RACERS)
    outcomes: list[object] = [None] * RACERS

    def run(index: int) -> None:
        barrier.wait(timeout=60)
        with app.app_context():
            user = db.session.get(User, app.config["RACE_USER"])
            membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
            try:
                outcomes[index] = attempt(user, membership)
            except AgreementError as error:
                db.session.rollback()
                outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def test_twenty_simultaneous_signings_through_the_service_make_one_signature(app, mailbox):
    user_id, version_id, digest = prepared(app)
    app.config["RACE_USER"] = user_id
    code = totp_now(stored_secret(app, "sam@example.org"))

    outcomes = race(
        app,
        lambda user, membership: sign_organization_agreement(
            user, membership, "opa", version_id, digest, "Sam Signer", "CEO", code, CLIENT
        ),
    )

    signed = [o for o in outcomes if isinstance(o, Signature)]
    refused = [o for o in outcomes if isinstance(o, AlreadySigned)]
    assert len(signed) == 1 and len(refused) == RACERS - 1, outcomes
    assert count(app, Signature) == 1
    assert len(audit_events(app, "agreement.signed")) == 1
    assert len(mailbox.to("sam@example.org")) == 1


def test_twenty_simultaneous_inserts_are_held_to_one_by_the_database(app, mailbox):
    """Without the per-account lock, every racer passes the "already signed?" check; the unique
    constraint alone must keep exactly one."""
    user_id, version_id, _ = prepared(app)
    app.config["RACE_USER"] = user_id

    def insert(user, membership):
        from cqmr_wizard.agreements.consent import active_consent
        from cqmr_wizard.agreements.services import latest_review
        from cqmr_wizard.models import AgreementVersion

        version = db.session.get(AgreementVersion, version_id)
        return record_signature(
            user,
            membership,
            version,
            active_consent(user.id),
            latest_review(user.id, version_id),
            "Sam Signer",
            "CEO",
            {"totp_step": 1},
            CLIENT,
        )

    outcomes = race(app, insert)
    assert sum(isinstance(o, Signature) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, AlreadySigned) for o in outcomes) == RACERS - 1, outcomes
    assert count(app, Signature) == 1
