"""Text gauges for table cells: a budget bar and a sparkline.

Pure functions (no Textual), so the virtual table paints them like any text and
their rules are unit-testable. Colours are the caller's business: :func:`budget_level`
names the band, which the widgets map to theme colours through component classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

__all__ = ["BudgetLevel", "budget_bar", "budget_level", "sparkline"]

_BLOCKS = "▁▂▃▄▅▆▇█"


class BudgetLevel(StrEnum):
    """Spend against a budget, in the bands the platform alerts at (80 / 95 / 100 %)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    EXHAUSTED = "exhausted"


def budget_level(spent: float, budget: float) -> BudgetLevel:
    """The band of ``spent`` out of ``budget`` (a budget of 0 is exhausted at once)."""
    percent = spent / budget * 100 if budget > 0 else 100.0
    if percent >= 100:
        return BudgetLevel.EXHAUSTED
    if percent >= 95:
        return BudgetLevel.CRITICAL
    if percent >= 80:
        return BudgetLevel.WARNING
    return BudgetLevel.OK


def budget_bar(spent: float, budget: float, width: int = 8) -> str:
    """``█████░░░ 62%``: the share of the budget spent, capped at a full bar."""
    share = min(1.0, spent / budget) if budget > 0 else 1.0
    full = round(share * width)
    percent = spent / budget * 100 if budget > 0 else 100.0
    return f"{'█' * full}{'░' * (width - full)} {percent:3.0f}%"


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, scaled to the largest (all zero: the lowest block)."""
    top = max(values, default=0.0)
    if top <= 0:
        return _BLOCKS[0] * len(values)
    last = len(_BLOCKS) - 1
    return "".join(_BLOCKS[min(last, round(max(0.0, v) / top * last))] for v in values)
