"""The one backoff formula: how long to wait before trying a failed thing again.

Used by the client's request retries and terminal reconnects
(:class:`caged_core.client.RetryPolicy`), the local platform's webhook deliveries and the
TUI live feed's waits while idle or offline; it lives here, importing nothing, because
the platform and the TUI may import ``caged_core`` but ``caged_core`` imports neither.
"""

from __future__ import annotations

__all__ = ["JITTER_SHARE", "backoff"]

#: The share of a delay that jitter may take off: delays fall in [50 %, 100 %] of the
#: capped exponential ("equal jitter"), so retries of many clients spread out while each
#: still waits at least half its backoff.
JITTER_SHARE = 0.5

# 2 ** 64 times any sensible base is past any cap; bounding the exponent keeps a
# caller's runaway retry count from overflowing a float.
_MAX_DOUBLINGS = 64


def backoff(retry: int, *, base: float, cap: float, draw: float) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first retry).

    ``base`` doubled once per earlier retry, never more than ``cap``, less up to
    :data:`JITTER_SHARE` of itself: ``draw`` is a number in [0, 1) — ``random.random()``
    in use, a fixed value in tests (0 gives the plain capped exponential).
    """
    full = min(cap, base * 2.0 ** min(max(retry, 0), _MAX_DOUBLINGS))
    return full * (1.0 - JITTER_SHARE * draw)
