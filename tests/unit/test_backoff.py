"""The one backoff formula (caged_core/backoff.py), shared by the client's retries
(tests/unit/client/test_retry.py) and the platform's webhook deliveries
(tests/integration/observe/test_webhooks.py, which records the waits)."""

from __future__ import annotations

import random

from caged_core.backoff import JITTER_SHARE, backoff


def test_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff(n, base=0.5, cap=4, draw=0.0) for n in range(6)] == [0.5, 1, 2, 4, 4, 4]


def test_jitter_takes_off_at_most_its_share() -> None:
    assert backoff(2, base=1, cap=8, draw=0.999) > 4 * (1 - JITTER_SHARE)
    draws = [backoff(1, base=1, cap=8, draw=random.random()) for _ in range(200)]
    assert all(2 * (1 - JITTER_SHARE) <= d <= 2 for d in draws)


def test_a_runaway_retry_count_stays_at_the_cap() -> None:
    assert backoff(100_000, base=0.5, cap=8, draw=0.0) == 8
    assert backoff(-1, base=0.5, cap=8, draw=0.0) == 0.5
