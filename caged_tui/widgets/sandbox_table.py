"""The sandboxes table: a :class:`VirtualTable` over a :class:`ListSource` of sandboxes.

What a sandbox looks like in a row (columns, status colours, sort keys) lives
here; the screen decides what is shown (filter, order, marks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual.binding import Binding, BindingType

from caged_core.models import Sandbox, SandboxStatus
from caged_tui import formatting as fmt
from caged_tui.gauges import budget_bar, budget_level
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable


@dataclass(frozen=True, slots=True)
class SandboxColumn:
    """One column: the table column, how a sandbox renders into it, how it sorts."""

    column: Column
    #: (sandbox, now, coarse: whole minutes only) → the cell's text.
    render: Callable[[Sandbox, datetime, bool], str]
    sort_key: Callable[[Sandbox], str | float] | None = None
    #: (sandbox, now, coarse) → seconds until the cell's text moves with the clock (None:
    #: never). None for the columns the clock does not move.
    changes: Callable[[Sandbox, datetime, bool], float | None] | None = None

    @property
    def label(self) -> str:
        """The header label."""
        return self.column.label


def stopped_by_budget(sandbox: Sandbox) -> bool:
    """Whether the budget guard stopped it: stopped, with its budget spent (or the
    platform's stop reason saying so)."""
    if sandbox.status != SandboxStatus.STOPPED or sandbox.budget is None:
        return False
    reason = (sandbox.last_error or "").lower()
    return sandbox.total_cost >= sandbox.budget or reason.startswith("budget")


def budget_text(sandbox: Sandbox) -> str:
    """Spend against the budget as a bar, a dash without one."""
    if sandbox.budget is None:
        return fmt.DASH
    return budget_bar(sandbox.total_cost, sandbox.budget)


def status_text(sandbox: Sandbox) -> str:
    """The status, saying when the budget guard stopped the sandbox."""
    return "stopped: budget spent" if stopped_by_budget(sandbox) else sandbox.status.value


def _created(sandbox: Sandbox) -> float:
    return sandbox.created_at.timestamp() if sandbox.created_at else 0.0


COLUMNS: tuple[SandboxColumn, ...] = (
    SandboxColumn(Column("id", "ID"), lambda sb, *_: sb.id, lambda sb: sb.id),
    SandboxColumn(
        Column("status", "STATUS", 7), lambda sb, *_: status_text(sb), lambda sb: sb.status.value
    ),
    SandboxColumn(
        Column("template", "TEMPLATE", 10), lambda sb, *_: sb.template, lambda sb: sb.template
    ),
    SandboxColumn(Column("resources", "CPU/MEM/DISK"), lambda sb, *_: fmt.resources(sb)),
    SandboxColumn(Column("network", "NET", 4), lambda sb, *_: sb.network_mode.value),
    SandboxColumn(
        Column("age", "AGE", 5),
        lambda sb, now, coarse: fmt.since(sb.created_at, now, coarse=coarse),
        lambda sb: -_created(sb),
        lambda sb, now, coarse: fmt.since_changes(sb.created_at, now, coarse=coarse),
    ),
    SandboxColumn(
        Column("uptime", "UPTIME", 6),
        lambda sb, now, coarse: fmt.uptime(sb, now, coarse=coarse),
        changes=lambda sb, now, coarse: fmt.uptime_changes(sb, now, coarse=coarse),
    ),
    SandboxColumn(Column("cost", "COST", 5), lambda sb, *_: fmt.cost(sb), lambda sb: sb.total_cost),
    SandboxColumn(Column("budget", "BUDGET", 6), lambda sb, *_: budget_text(sb)),
    SandboxColumn(
        Column("idle", "IDLE IN", 7),
        lambda sb, now, coarse: fmt.until(sb.idle_deadline, now, coarse=coarse),
        changes=lambda sb, now, coarse: fmt.until_changes(sb.idle_deadline, now, coarse=coarse),
    ),
    SandboxColumn(
        Column("error", "LAST ERROR", 10), lambda sb, *_: fmt.one_line(sb.last_error, 48)
    ),
)

#: Columns that ``S`` cycles through, in order.
SORTABLE: tuple[SandboxColumn, ...] = tuple(col for col in COLUMNS if col.sort_key is not None)

_STATUS_STYLES = frozenset({"running", "pending", "paused", "stopped", "error"})


def sandbox_cells(sandbox: Sandbox, now: datetime, coarse: bool = False) -> tuple[Cell, ...]:
    """A sandbox's row: each column's text and the component class it is drawn with
    (times in whole minutes when ``coarse``)."""
    status = sandbox.status.value
    cells: list[Cell] = []
    for col in COLUMNS:
        style = ""
        if col.column.key == "status" and stopped_by_budget(sandbox):
            style = "sandbox-table--budget-exhausted"
        elif col.column.key == "status":
            style = f"sandbox-table--{status if status in _STATUS_STYLES else 'other'}"
        elif col.column.key == "error" and sandbox.last_error:
            style = "sandbox-table--problem"
        elif col.column.key == "budget" and sandbox.budget is not None:
            style = f"sandbox-table--budget-{budget_level(sandbox.total_cost, sandbox.budget)}"
        cells.append((col.render(sandbox, now, coarse), style))
    return tuple(cells)


#: How the cells that move with the clock say when they next do.
_CHANGES = tuple(col.changes for col in COLUMNS if col.changes is not None)


def text_changes_in(sandbox: Sandbox, now: datetime, coarse: bool = False) -> float | None:
    """Seconds from ``now`` until a time of the sandbox's row shows another text (None:
    none ever will — a stopped sandbox's age still does, for one)."""
    waits = [wait for changes in _CHANGES if (wait := changes(sandbox, now, coarse)) is not None]
    return min(waits, default=None)


def sandbox_source(
    now: datetime, coarse: Callable[[], bool] = lambda: False
) -> ListSource[Sandbox]:
    """An empty source of sandboxes keyed by id, formatted at ``now``, times in whole
    minutes while ``coarse()`` holds."""
    return ListSource(lambda sb: sb.id, lambda sb, now: sandbox_cells(sb, now, coarse()), now)


class SandboxTable(VirtualTable):
    """The sandboxes list; status colours come from the theme via component classes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "sandbox-table--running",
        "sandbox-table--pending",
        "sandbox-table--paused",
        "sandbox-table--stopped",
        "sandbox-table--error",
        "sandbox-table--other",
        "sandbox-table--problem",
        "sandbox-table--budget-ok",
        "sandbox-table--budget-warning",
        "sandbox-table--budget-critical",
        "sandbox-table--budget-exhausted",
    }

    DEFAULT_CSS = """
    SandboxTable > .sandbox-table--running { color: $success; text-style: bold; }
    SandboxTable > .sandbox-table--pending { color: $warning; }
    SandboxTable > .sandbox-table--paused { color: $secondary; }
    SandboxTable > .sandbox-table--stopped { color: $text-muted; }
    SandboxTable > .sandbox-table--error { color: $error; text-style: bold; }
    SandboxTable > .sandbox-table--other { color: $text-muted; }
    SandboxTable > .sandbox-table--problem { color: $error; }
    SandboxTable > .sandbox-table--budget-ok { color: $success; }
    SandboxTable > .sandbox-table--budget-warning { color: $warning; }
    SandboxTable > .sandbox-table--budget-critical { color: $error; }
    SandboxTable > .sandbox-table--budget-exhausted { color: $error; text-style: bold reverse; }
    """

    # ``enter`` opens the sandbox; the screen owns the action so it also works
    # from the palette.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.open", "Open", id="sandboxes.open"),
    ]

    def __init__(self, source: ListSource[Sandbox], *, id: str | None = None) -> None:
        super().__init__([col.column for col in COLUMNS], source, show_marks=True, id=id)
