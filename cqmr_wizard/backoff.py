"""Waits that double after each failure, up to a cap: sign-in and second-factor delays, outbox retries."""

from __future__ import annotations

from datetime import timedelta


def doubling(base: timedelta, doublings: int, cap: timedelta) -> timedelta:
    """`base` doubled `doublings` times, never more than `cap`."""
    delay = base
    for _ in range(max(doublings, 0)):
        if delay >= cap:
            break
        delay *= 2
    return min(delay, cap)
