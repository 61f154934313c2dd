"""What every benchmark shares: the result row, statistics and interleaved sampling.

The machine is shared and noisy, so a benchmark never judges an absolute time.
It alternates its own measurement with a reference measured in the same run
(ours, ref, ours, ref …) so that both see the same background load, and the
ratio is taken between the medians of the two series.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from benchmarks._platform import LocalPlatform

#: Which way a ratio is good: "max" means ours/reference must be at most the
#: bound, "min" means at least.
Direction = Literal["max", "min"]


@dataclass(frozen=True, slots=True)
class Target:
    """A bound on a value (a ratio, or an absolute figure for benchmarks without one)."""

    bound: float | None
    direction: Direction
    text: str

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` satisfies the bound; None when nothing was measured or the
        row is context only."""
        if self.bound is None or value is None or math.isnan(value):
            return None
        return value <= self.bound if self.direction == "max" else value >= self.bound


def at_most(bound: float, text: str) -> Target:
    """A value that must not exceed ``bound``."""
    return Target(bound, "max", text)


def at_least(bound: float, text: str) -> Target:
    """A value that must reach ``bound``."""
    return Target(bound, "min", text)


#: For rows printed as context next to the one that carries the target.
CONTEXT = Target(None, "max", "(context)")


@dataclass(slots=True)
class Row:
    """One line of the results table.

    ``ours`` and ``reference`` are medians in ``unit``; ``ratio`` is
    ``ours / reference`` unless the benchmark says otherwise in ``note``.
    ``judged`` names what the target is checked against: the ratio, or
    ``ours`` for an absolute target.
    """

    benchmark: str
    metric: str
    unit: str
    ours: float
    reference: float | None
    target: Target
    judged: Literal["ratio", "ours"] = "ratio"
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """ours / reference, or None when there is no reference."""
        if self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None: could not be judged)."""
        return self.target.met(self.ratio if self.judged == "ratio" else self.ours)

    def to_json(self) -> dict[str, Any]:
        """The row as plain JSON values (samples included, for re-analysis)."""
        data = asdict(self)
        data["target"] = self.target.text
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


@dataclass(slots=True)
class Context:
    """What the runner hands each benchmark.

    Attributes:
        quick: the short mode (fewer and smaller runs, same code paths).
        platform: the local platform, started lazily by the runner and shared.
        log: progress lines for the person watching (stderr).
    """

    quick: bool
    platform_factory: Callable[[], LocalPlatform]
    log: Callable[[str], None]

    @property
    def platform(self) -> LocalPlatform:
        """The running local platform (started on first use)."""
        return self.platform_factory()

    def pick(self, quick: int, full: int) -> int:
        """A count for the current mode."""
        return quick if self.quick else full


def median(values: Sequence[float]) -> float:
    """The median (NaN for no values, so a broken run shows instead of crashing)."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile by the nearest-rank method (no interpolation)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def interleave(
    ours: Callable[[], float], reference: Callable[[], float], rounds: int
) -> tuple[list[float], list[float]]:
    """Run ``ours`` and ``reference`` alternately ``rounds`` times; their returned samples."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        mine.append(ours())
        theirs.append(reference())
    return mine, theirs


async def ainterleave(
    ours: Callable[[], Awaitable[float]],
    reference: Callable[[], Awaitable[float]],
    rounds: int,
) -> tuple[list[float], list[float]]:
    """:func:`interleave` for coroutines."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        mine.append(await ours())
        theirs.append(await reference())
    return mine, theirs


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` takes (perf_counter)."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


async def atimed(action: Callable[[], Awaitable[object]]) -> float:
    """Seconds awaiting ``action()`` takes."""
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started
