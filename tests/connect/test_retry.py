"""The one retry policy: full jitter capped, Retry-After exact and read on the injected
clock, and no wait when no attempt is left or the server asks for too long."""

from __future__ import annotations

from email.utils import formatdate

from connect.retry import RetryPolicy


def test_backoff_is_full_jitter_under_a_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0, random=lambda: 0.5)

    assert [policy.delay(attempt, None) for attempt in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]


def test_retry_after_is_exact_and_read_against_the_injected_clock() -> None:
    policy = RetryPolicy(clock=lambda: 1_000_000.0)

    assert policy.delay(1, policy.retry_after("7")) == 7.0
    assert policy.delay(1, policy.retry_after(formatdate(1_000_012.0, usegmt=True))) == 12.0


def test_no_wait_when_it_is_not_worth_it() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=60.0, random=lambda: 0.5)

    assert policy.delay(3, None) is None  # the last attempt failed
    assert policy.delay(1, 61.0) is None  # longer than the cap: give up now
    assert policy.delay(2, 60.0) == 60.0
