"""Budgets where people look: the bar in the sandboxes table and the detail, coloured at
80 / 95 / 100 %, and a sandbox the budget guard stopped saying so in its row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from account_side import budgeted, live_app, spend  # noqa: F401 - budgeted is a fixture
from eventually import eventually_async

from caged_core.models import Sandbox
from caged_tui.gauges import BudgetLevel, budget_bar, budget_level, sparkline
from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.widgets.sandbox_table import COLUMNS, SandboxTable, sandbox_cells

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
BUDGET = [col.column.key for col in COLUMNS].index("budget")
STATUS = [col.column.key for col in COLUMNS].index("status")


@pytest.mark.parametrize(
    ("spent", "level"),
    [
        (0.0, BudgetLevel.OK),
        (0.79, BudgetLevel.OK),
        (0.80, BudgetLevel.WARNING),
        (0.949, BudgetLevel.WARNING),
        (0.95, BudgetLevel.CRITICAL),
        (1.0, BudgetLevel.EXHAUSTED),
        (1.7, BudgetLevel.EXHAUSTED),
    ],
)
def test_budget_bands(spent: float, level: BudgetLevel) -> None:
    assert budget_level(spent, 1.0) is level


def test_budget_bar_and_sparkline() -> None:
    assert budget_bar(0.5, 1.0) == "████░░░░  50%"
    assert budget_bar(2.0, 1.0) == "████████ 200%"  # the bar is full; the figure says how far
    assert budget_bar(0.0, 0.0) == "████████ 100%"
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0.0, 0.0]) == "▁▁"


def _sandbox(**fields: Any) -> Sandbox:
    return Sandbox(id="cage-1", template="minimal", **fields)


def test_the_row_shows_the_bar_in_its_band_and_a_budget_stop() -> None:
    row = sandbox_cells(_sandbox(status="running", budget=5.0, total_cost=4.1), NOW)
    assert row[BUDGET] == ("███████░  82%", "sandbox-table--budget-warning")
    assert sandbox_cells(_sandbox(status="running"), NOW)[BUDGET] == ("–", "")  # noqa: RUF001
    stopped = _sandbox(
        status="stopped",
        budget=1.0,
        total_cost=1.02,
        last_error="budget exhausted: $1.02 of its $1.00 budget (102%)",
    )
    cells = sandbox_cells(stopped, NOW)
    assert cells[STATUS] == ("stopped: budget spent", "sandbox-table--budget-exhausted")
    assert cells[BUDGET][1] == "sandbox-table--budget-exhausted"
    # Stopped by hand below its budget: just stopped.
    by_hand = sandbox_cells(_sandbox(status="stopped", budget=1.0, total_cost=0.2), NOW)
    assert by_hand[STATUS] == ("stopped", "sandbox-table--stopped")


@pytest.mark.integration
async def test_a_sandbox_over_its_budget_says_so_in_its_row(
    platform: Any,
    budgeted: str,  # noqa: F811 - the fixture
) -> None:
    app = live_app(platform)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, SandboxesScreen)
        table = screen.query_one(SandboxTable)

        def cell(index: int) -> tuple[str, str] | None:
            row = table.row(budgeted)
            return row.cells[index] if row is not None else None

        spend(platform, budgeted, 0.85)
        await eventually_async(
            lambda: cell(BUDGET) == ("███████░  85%", "sandbox-table--budget-warning"),
            pause=pilot.pause,
            what="the warning band",
        )
        spend(platform, budgeted, 0.20)  # over: the guard stops it
        await eventually_async(
            lambda: cell(STATUS) == ("stopped: budget spent", "sandbox-table--budget-exhausted"),
            pause=pilot.pause,
            what="the budget stop in the row",
        )
