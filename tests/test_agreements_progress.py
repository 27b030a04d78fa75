"""Every branch of the agreements task's status, from the facts alone (no database)."""

import pytest

from cqmr_wizard.tasks.definitions import agreements_progress
from cqmr_wizard.tasks.engine import AgreementFact, Status

UNPUBLISHED = AgreementFact("x", published=False)
OPEN = AgreementFact("open", published=True)
SIGNED = AgreementFact("signed", published=True, signed=True)
WAITING = AgreementFact("waiting", published=True, waiting=True)
STALE = AgreementFact("stale", published=True, stale=True)


@pytest.mark.parametrize(
    "agreements, status",
    [
        ((), Status.NOT_STARTED),  # nothing to sign yet
        ((UNPUBLISHED,), Status.NOT_STARTED),
        ((SIGNED, UNPUBLISHED), Status.NOT_STARTED),  # a kind without a current version
        ((OPEN,), Status.NOT_STARTED),
        ((OPEN, OPEN), Status.NOT_STARTED),
        ((SIGNED,), Status.COMPLETED),
        ((SIGNED, SIGNED), Status.COMPLETED),
        ((WAITING,), Status.WAITING),
        ((SIGNED, WAITING), Status.WAITING),
        ((STALE,), Status.NOT_STARTED),  # a new version re-opened it
        ((SIGNED, STALE), Status.NOT_STARTED),
        ((WAITING, STALE), Status.NOT_STARTED),
        ((SIGNED, OPEN), Status.IN_PROGRESS),
        ((WAITING, OPEN), Status.IN_PROGRESS),
        ((SIGNED, WAITING, OPEN), Status.IN_PROGRESS),
    ],
)
def test_agreements_progress(agreements, status):
    assert agreements_progress(agreements) is status
