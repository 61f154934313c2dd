"""When and how long to wait before repeating a failed request.

Only idempotent methods (GET, PUT, DELETE) are ever repeated: a ``POST``
that timed out may still have created a sandbox or run a command, so the
caller must decide. Repeated: connection failures, 429 and 502/503/504.
Timeouts are *not* repeated — the budget is the caller's stated patience,
and three budgets in a row would be a surprise.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from caged_core.backoff import backoff
from caged_core.errors import (
    CagedAPIError,
    CagedConnectionError,
    CagedError,
    CagedRateLimitError,
    CagedTimeoutError,
)

__all__ = ["IDEMPOTENT_METHODS", "RETRYABLE_STATUSES", "RetryPolicy"]

IDEMPOTENT_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with jitter (:func:`caged_core.backoff.backoff`),
    honouring the server's wait.

    Attributes:
        max_retries: repeats after the first attempt (0 disables retrying).
        base_delay: the first backoff, doubled on every further attempt.
        max_delay: the backoff never exceeds this.
        max_server_wait: a ``Retry-After`` / ``X-RateLimit-Reset`` up to this
            many seconds is waited out; a longer one is not retried at all and
            the 429 is raised at once with its ``retry_after``.
        sleep: how to wait — injectable so tests never sleep.
        jitter: returns a float in [0, 1); scales the backoff into
            [50 %, 100 %] so that many clients do not retry in lockstep.
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_server_wait: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    jitter: Callable[[], float] = field(default=random.random)

    def should_retry(self, method: str, attempt: int) -> bool:
        """Whether a failure on (zero-based) ``attempt`` may be repeated at all."""
        return method.upper() in IDEMPOTENT_METHODS and attempt < self.max_retries

    def wait_after(self, error: CagedError, method: str, attempt: int) -> float | None:
        """Seconds to wait before repeating a call that failed with ``error``
        on (zero-based) ``attempt``, or ``None`` when it must not be repeated."""
        if not self.should_retry(method, attempt):
            return None
        if isinstance(error, CagedTimeoutError):
            return None
        if isinstance(error, CagedConnectionError):
            return self.delay(attempt)
        if isinstance(error, CagedAPIError) and error.status in RETRYABLE_STATUSES:
            server_wait = error.retry_after if isinstance(error, CagedRateLimitError) else None
            return self.delay(attempt, server_wait)
        return None

    def delay(self, attempt: int, server_wait: float | None = None) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up.

        ``server_wait`` is what the server asked for (429); it wins over the
        backoff when present, unless it exceeds :attr:`max_server_wait`.
        """
        if server_wait is not None:
            return server_wait if server_wait <= self.max_server_wait else None
        return backoff(attempt, base=self.base_delay, cap=self.max_delay, draw=self.jitter())
