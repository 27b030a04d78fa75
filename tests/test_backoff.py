"""The one doubling back-off that sign-in, the second factor and the outbox wait by."""

from datetime import timedelta

from cqmr_wizard.backoff import doubling

SECOND = timedelta(seconds=1)


def test_each_doubling_doubles_the_wait_up_to_the_cap():
    waits = [doubling(SECOND, n, timedelta(seconds=10)) for n in range(6)]
    assert waits == [SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND, 10 * SECOND, 10 * SECOND]


def test_no_doubling_is_the_base_and_a_long_run_of_failures_stays_at_the_cap():
    assert doubling(SECOND, 0, timedelta(hours=1)) == SECOND
    assert doubling(timedelta(days=1), 10_000, timedelta(days=30)) == timedelta(days=30)
