"""The sandboxes table: rows keyed by sandbox id, updated in place.

A refresh never clears the table unless rows appeared, vanished or moved: each
cell is compared with what is on screen and only changed cells are rewritten,
so the cursor, the scroll position and the marks survive every poll.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from caged_core.models import Sandbox
from caged_tui import formatting as fmt


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key, header and how a sandbox renders into it."""

    key: str
    label: str
    render: Callable[[Sandbox, datetime], str]
    sort_key: Callable[[Sandbox], str | float] | None = None


def _created(sandbox: Sandbox) -> float:
    return sandbox.created_at.timestamp() if sandbox.created_at else 0.0


COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", lambda sb, _: sb.id, lambda sb: sb.id),
    Column("status", "STATUS", lambda sb, _: sb.status.value, lambda sb: sb.status.value),
    Column("template", "TEMPLATE", lambda sb, _: sb.template, lambda sb: sb.template),
    Column("resources", "CPU/MEM/DISK", lambda sb, _: fmt.resources(sb)),
    Column("network", "NET", lambda sb, _: sb.network_mode.value),
    Column("age", "AGE", lambda sb, now: fmt.since(sb.created_at, now), lambda sb: -_created(sb)),
    Column("uptime", "UPTIME", fmt.uptime),
    Column("cost", "COST", lambda sb, _: fmt.cost(sb), lambda sb: sb.total_cost),
    Column("idle", "IDLE IN", lambda sb, now: fmt.until(sb.idle_deadline, now)),
    Column("error", "LAST ERROR", lambda sb, _: fmt.one_line(sb.last_error, 48)),
)

#: Columns that ``S`` cycles through, in order.
SORTABLE: tuple[Column, ...] = tuple(col for col in COLUMNS if col.sort_key is not None)
MARK_COLUMN = "mark"


class SandboxTable(DataTable[Text]):
    """A DataTable of sandboxes whose status colours come from the theme via CSS
    component classes (``sandbox-table--running`` …)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "sandbox-table--running",
        "sandbox-table--pending",
        "sandbox-table--paused",
        "sandbox-table--stopped",
        "sandbox-table--error",
        "sandbox-table--other",
        "sandbox-table--marked",
        "sandbox-table--problem",
    }

    DEFAULT_CSS = """
    SandboxTable > .sandbox-table--running { color: $success; text-style: bold; }
    SandboxTable > .sandbox-table--pending { color: $warning; }
    SandboxTable > .sandbox-table--paused { color: $secondary; }
    SandboxTable > .sandbox-table--stopped { color: $text-muted; }
    SandboxTable > .sandbox-table--error { color: $error; text-style: bold; }
    SandboxTable > .sandbox-table--other { color: $text-muted; }
    SandboxTable > .sandbox-table--marked { color: $accent; text-style: bold; }
    SandboxTable > .sandbox-table--problem { color: $error; }
    """

    # ``enter`` opens the sandbox; the screen owns the action so it also works
    # from the palette.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.open", "Open", id="sandboxes.open"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        # What each row shows, as (text, style) pairs: comparing these is cheap, whereas
        # building a rich Text per cell for thousands of rows every poll is not.
        self._shown: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        self.add_column(" ", key=MARK_COLUMN, width=1)
        for column in COLUMNS:
            self.add_column(column.label, key=column.key)

    @property
    def current_id(self) -> str | None:
        """The id of the sandbox under the cursor, if any."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def show(
        self,
        sandboxes: Sequence[Sandbox],
        *,
        now: datetime,
        marked: set[str],
        force: bool = False,
    ) -> None:
        """Make the table show ``sandboxes`` in this order, touching only what changed."""
        styles = _Styles(self)
        rows = {sb.id: self._cells(sb, now, sb.id in marked, styles) for sb in sandboxes}
        if force or list(rows) != list(self._shown):
            self._rebuild(rows)
            return
        for sandbox_id, cells in rows.items():
            previous = self._shown[sandbox_id]
            if previous == cells:
                continue
            for index, (old, new) in enumerate(zip(previous, cells, strict=True)):
                if old != new:
                    key = self._column_key(index)
                    # Re-measuring a column relayouts the whole table: only when it must grow.
                    wider = cell_len(new[0]) > self.columns[ColumnKey(key)].content_width
                    self.update_cell(sandbox_id, key, Text(*new), update_width=wider)
        self._shown = rows

    def _rebuild(self, rows: dict[str, tuple[Cell, ...]]) -> None:
        current = self.current_id
        self.clear()
        for sandbox_id, cells in rows.items():
            self.add_row(*(Text(*cell) for cell in cells), key=sandbox_id)
        self._shown = rows
        if current in rows:
            self.move_cursor(row=self.get_row_index(RowKey(current)), animate=False)

    @staticmethod
    def _column_key(index: int) -> str:
        return MARK_COLUMN if index == 0 else COLUMNS[index - 1].key

    @staticmethod
    def _cells(
        sandbox: Sandbox, now: datetime, marked: bool, styles: _Styles
    ) -> tuple[Cell, ...]:
        cells = [("●" if marked else " ", styles["marked"])]
        for column in COLUMNS:
            style = ""
            if column.key == "status":
                status = sandbox.status.value
                style = styles[status if status in _STATUS_STYLES else "other"]
            elif column.key == "error" and sandbox.last_error:
                style = styles["problem"]
            cells.append((column.render(sandbox, now), style))
        return tuple(cells)


_STATUS_STYLES = frozenset({"running", "pending", "paused", "stopped", "error"})

#: A cell as shown: its text and the rich style string it is drawn with.
Cell = tuple[str, str]


class _Styles(dict[str, str]):
    """The table's component styles, looked up once per refresh rather than once per row."""

    def __init__(self, table: SandboxTable) -> None:
        super().__init__()
        self._table = table

    def __missing__(self, name: str) -> str:
        style = str(self._table.get_component_rich_style(f"sandbox-table--{name}", partial=True))
        self[name] = style
        return style
