"""Usage as the billing screen charts it: per day and per sandbox, with totals.

Pure functions over the wire models (no Textual), so the sums are unit-tested:

- **per sandbox**: its own cost fields (compute, LLM, total) and its compute minutes,
  worked out from its compute cost at the contract's price ($0.01 per vCPU-hour plus
  $0.005 per GB-hour of memory, billed per second while running);
- **per day**: what the sessions started that day cost (LLM calls plus the compute
  accrued while they were open) — the API keeps no ledger per day, so compute outside
  any session is in the sandbox totals, not in the days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from caged_core.models import AgentSession, Sandbox

__all__ = ["DAYS", "SandboxUsage", "UsageReport", "compute_minutes", "usage_report"]

#: Days the charts cover, today included.
DAYS = 14
#: USD per vCPU-hour and per GB-hour of memory (the contract's compute price).
PER_CPU_HOUR = 0.01
PER_GB_HOUR = 0.005


def compute_minutes(sandbox: Sandbox) -> float:
    """Minutes of compute its compute cost pays for at its size (0 for a sizeless one)."""
    per_minute = (sandbox.cpus * PER_CPU_HOUR + sandbox.memory_mb / 1024 * PER_GB_HOUR) / 60
    return sandbox.cost / per_minute if per_minute > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SandboxUsage:
    """One sandbox's usage: its totals and its sessions' cost on each charted day."""

    sandbox: Sandbox
    minutes: float
    daily: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Everything the charts and the totals show."""

    days: tuple[date, ...]
    daily: tuple[float, ...]
    sandboxes: tuple[SandboxUsage, ...]

    @property
    def compute(self) -> float:
        """Compute cost of every sandbox (USD)."""
        return sum(usage.sandbox.cost for usage in self.sandboxes)

    @property
    def llm(self) -> float:
        """LLM cost of every sandbox (USD)."""
        return sum(usage.sandbox.llm_cost for usage in self.sandboxes)

    @property
    def total(self) -> float:
        """Compute and LLM cost together."""
        return sum(usage.sandbox.total_cost for usage in self.sandboxes)

    @property
    def minutes(self) -> float:
        """Compute minutes of every sandbox."""
        return sum(usage.minutes for usage in self.sandboxes)


def usage_report(
    sandboxes: Iterable[Sandbox], sessions: Iterable[AgentSession], today: date, days: int = DAYS
) -> UsageReport:
    """The report for the ``days`` up to ``today`` (UTC dates), sandboxes by total cost."""
    span = tuple(today - timedelta(days=n) for n in range(days - 1, -1, -1))
    index = {day: n for n, day in enumerate(span)}
    daily = [0.0] * days
    per_sandbox: dict[str, list[float]] = {}
    for session in sessions:
        if session.started_at is None:
            continue
        slot = index.get(session.started_at.date())
        if slot is None:
            continue
        cost = session.total_cost or session.llm_cost + session.compute_cost
        daily[slot] += cost
        per_sandbox.setdefault(session.sandbox_id, [0.0] * days)[slot] += cost
    rows = sorted(
        (
            SandboxUsage(sb, compute_minutes(sb), tuple(per_sandbox.get(sb.id, [0.0] * days)))
            for sb in sandboxes
        ),
        key=lambda usage: (-usage.sandbox.total_cost, usage.sandbox.id),
    )
    return UsageReport(span, tuple(daily), tuple(rows))
