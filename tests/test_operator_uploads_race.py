"""Two registry operators reviewing the same returned signed copy at the same moment: exactly
one review counts (one status, one audit event, one notice to the signer), and the other
operator is told plainly who came first and when."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from cqmr_wizard.agreements.uploads import AlreadyReviewed, reject_upload, verify_upload
from cqmr_wizard.extensions import db
from cqmr_wizard.models import AgreementUpload, User

from .agreement_helpers import audit_events
from .helpers import csrf_from, page_text, sign_in
from .operator_support import make_operator
from .test_operator_uploads import SIGNER, pending_organization

PATIENCE = 60
OPERATORS = {"olive@cqmr.example.org": "Olive Operator", "otto@cqmr.example.org": "Otto Operator"}
REASON = "Page 3 is missing the signature block."


def reviews(app) -> list[dict]:
    return audit_events(app, "agreement.upload_verified") + audit_events(app, "agreement.upload_rejected")


def at_once(*actions) -> list[object]:
    """Run each action in its own thread, released together by a barrier; return what each
    returned or raised."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index: int) -> None:
        try:
            outcomes[index] = actions[index](barrier)
        except Exception as error:  # the loser's refusal, or a failure the test reports
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE)
    assert not any(thread.is_alive() for thread in threads), "a review never finished"
    return outcomes


@pytest.mark.parametrize("second", ["verify", "reject"])
def test_one_of_two_simultaneous_reviews_wins_and_the_other_is_refused_by_name(app, client, mailbox, second):
    org_id, ids = pending_organization(app, client)
    operator_ids = {make_operator(app, email, name): name for email, name in OPERATORS.items()}
    mailbox.clear()

    def review(operator_id: int, how: str):
        def action(barrier: threading.Barrier):
            with app.app_context():
                operator = db.session.get(User, operator_id)
                upload = db.session.get(AgreementUpload, ids[0])
                assert upload.status == "pending"  # each has read the copy as waiting…
                barrier.wait(PATIENCE)  # …before either writes
                try:
                    if how == "verify":
                        return verify_upload(upload, operator).status
                    return reject_upload(upload, operator, REASON).status
                finally:
                    db.session.rollback()

        return action

    first_id, second_id = operator_ids
    outcomes = at_once(review(first_id, "verify"), review(second_id, second))
    won = [o for o in outcomes if isinstance(o, str)]
    lost = [o for o in outcomes if isinstance(o, AlreadyReviewed)]
    assert len(won) == 1 and len(lost) == 1, outcomes

    [event] = reviews(app)  # one audit event only
    winner = operator_ids[event["actor_id"]]
    with app.app_context():
        stored = db.session.get(AgreementUpload, ids[0])
        assert (stored.status, stored.reviewed_by_id) == (won[0], event["actor_id"])
        assert db.session.get(AgreementUpload, ids[1]).status == "pending"
    message = lost[0].message
    assert lost[0].status == 409
    assert message.startswith(f"Another registry operator, {winner}, already {won[0]} this signed copy on ")
    assert len(mailbox.to(SIGNER)) == 1  # the signer is told once


def test_the_operator_who_clicks_second_is_told_on_the_page_who_reviewed_it(app, client, mailbox):
    org_id, ids = pending_organization(app, client)
    page = f"/operator/organizations/{org_id}"
    base = f"{page}/uploads/{ids[0]}"
    consoles = []
    for email, name in OPERATORS.items():
        make_operator(app, email, name)
        console = app.test_client()
        assert sign_in(console, email).status_code == 302
        consoles.append(console)
    verify_token = csrf_from(consoles[0].get(page).get_data(as_text=True))
    reject_token = csrf_from(consoles[1].get(f"{base}/reject").get_data(as_text=True))

    def verify(barrier: threading.Barrier):
        barrier.wait(PATIENCE)
        return consoles[0].post(f"{base}/verify", data={f"verify-{ids[0]}-csrf_token": verify_token})

    def reject(barrier: threading.Barrier):
        barrier.wait(PATIENCE)
        return consoles[1].post(f"{base}/reject", data={"csrf_token": reject_token, "reason": REASON})

    answers = at_once(verify, reject)
    assert sorted(a.status_code for a in answers) == [302, 409], answers
    [event] = reviews(app)
    winner = (
        "Olive Operator" if event["actor_id"] == user_id(app, "olive@cqmr.example.org") else "Otto Operator"
    )
    done = "verified" if winner == "Olive Operator" else "rejected"
    [loser] = [a for a in answers if a.status_code == 409]
    text = page_text(loser)
    assert f"Another registry operator, {winner}, already {done} this signed copy on " in text
    assert "Nothing was changed." in text and "Signed copies" in text  # the organization's page
    assert len(mailbox.to(SIGNER)) == 1


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))
