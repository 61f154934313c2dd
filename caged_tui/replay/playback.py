"""Playback arithmetic, asciinema-style: speeds, the idle-time cap, how far a tick goes.

Time between two events is what the recording says, except that a pause longer
than the idle cap is played as the cap (a 10-minute think is not watched for 10
minutes). A tick of the wall clock adds ``seconds x speed`` to a budget; events
are taken while the next one's (capped) gap fits in it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

#: The speeds ``<`` and ``>`` step through.
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
#: Default idle-time cap in seconds, and the caps ``[`` / ``]`` step through.
IDLE_CAP = 2.0
IDLE_CAPS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


def gap(before: datetime | None, after: datetime | None, idle_cap: float) -> float:
    """Seconds played between two events: their real gap, capped at ``idle_cap``."""
    if before is None or after is None:
        return 0.0
    return min(max(0.0, (after - before).total_seconds()), idle_cap)


def step_speed(speed: float, direction: int) -> float:
    """The next speed up (``direction`` 1) or down (-1), staying within :data:`SPEEDS`."""
    index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))
    return SPEEDS[max(0, min(len(SPEEDS) - 1, index + direction))]


def step_cap(cap: float, direction: int) -> float:
    """The next idle cap up or down, within :data:`IDLE_CAPS`."""
    index = min(range(len(IDLE_CAPS)), key=lambda i: abs(IDLE_CAPS[i] - cap))
    return IDLE_CAPS[max(0, min(len(IDLE_CAPS) - 1, index + direction))]


def advance(budget: float, gap_of: Callable[[int], float | None]) -> tuple[int, float]:
    """How many events a budget of played seconds covers, and what is left of it.

    ``gap_of(n)`` is the gap before the ``n``-th event after the playhead (0 = the
    next), None when that event is not available (the end, or a page still
    loading): playback waits there, and the budget is dropped rather than saved
    up into a burst.
    """
    taken = 0
    while (needed := gap_of(taken)) is not None and needed <= budget:
        budget -= needed
        taken += 1
    return taken, budget if needed is not None else 0.0
