"""Running totals at the playhead: cost, tokens and trust, each deduction tied to its event.

Built from the session's ``llm_call`` events and its trust deductions (both in
sequence order); :meth:`RunningTotals.at` answers for any sequence with two
binary searches, so stepping at 64x costs nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from caged_core.models import ReplayEvent, TrustDeduction

from .events import llm_cost, llm_tokens

#: A session's trust score before any deduction.
START_SCORE = 100


@dataclass(frozen=True, slots=True)
class Totals:
    """What the session had spent and lost up to (and including) an event."""

    cost: float
    tokens_in: int
    tokens_out: int
    trust: int
    #: The deductions so far, oldest first.
    deductions: tuple[TrustDeduction, ...]


class RunningTotals:
    """Cumulative cost, tokens and trust by sequence."""

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._cost: list[float] = []
        self._in: list[int] = []
        self._out: list[int] = []
        self._deductions: list[TrustDeduction] = []
        self._deduction_seqs: list[int] = []
        self._by_seq: dict[int, list[TrustDeduction]] = {}

    def add_llm_calls(self, events: Iterable[ReplayEvent]) -> None:
        """Add ``llm_call`` events that come after those already added."""
        calls = [e for e in events if e.type == "llm_call"]
        if not calls:
            return
        base_cost = self._cost[-1] if self._cost else 0.0
        base_in = self._in[-1] if self._in else 0
        base_out = self._out[-1] if self._out else 0
        tokens = [llm_tokens(e) for e in calls]
        self._seqs += [e.sequence for e in calls]
        self._cost += list(accumulate((llm_cost(e) for e in calls), initial=base_cost))[1:]
        self._in += list(accumulate((t[0] for t in tokens), initial=base_in))[1:]
        self._out += list(accumulate((t[1] for t in tokens), initial=base_out))[1:]

    def set_deductions(self, deductions: Iterable[TrustDeduction]) -> None:
        """The session's trust deductions (any order; kept by sequence)."""
        self._deductions = sorted(deductions, key=lambda d: d.sequence or 0)
        self._deduction_seqs = [d.sequence or 0 for d in self._deductions]
        self._by_seq = {}
        for d in self._deductions:
            self._by_seq.setdefault(d.sequence or 0, []).append(d)

    def deduction_at(self, sequence: int) -> str | None:
        """What the event ``sequence`` cost in trust, if anything."""
        found = self._by_seq.get(sequence)
        if not found:
            return None
        return "; ".join(f"-{d.points} {d.rule}: {d.reason}" for d in found)

    def points_at(self, sequence: int) -> int:
        """Trust points the event ``sequence`` cost."""
        return sum(d.points for d in self._by_seq.get(sequence, ()))

    def at(self, sequence: int) -> Totals:
        """The totals once the event ``sequence`` has happened (0: before the first)."""
        i = bisect_right(self._seqs, sequence)
        j = bisect_right(self._deduction_seqs, sequence)
        lost = sum(d.points for d in self._deductions[:j])
        return Totals(
            cost=self._cost[i - 1] if i else 0.0,
            tokens_in=self._in[i - 1] if i else 0,
            tokens_out=self._out[i - 1] if i else 0,
            trust=max(0, START_SCORE - lost),
            deductions=tuple(self._deductions[:j]),
        )
