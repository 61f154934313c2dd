"""The reference TUI of ``startup`` and ``idle_cpu``: one DataTable with the given rows.

``python -m benchmarks._minimal_app ID [ID …]`` shows a table with one row per
id (id, status, template) and nothing else: the least a Textual app showing
the same list can do, so the difference to caged-tui is what caged-tui adds.
"""

from __future__ import annotations

import sys

from textual.app import App, ComposeResult
from textual.widgets import DataTable


class MinimalApp(App[None]):
    """One DataTable, filled on mount."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self._ids = ids

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("ID", "STATUS", "TEMPLATE")
        for sandbox_id in self._ids:
            table.add_row(sandbox_id, "running", "minimal", key=sandbox_id)


if __name__ == "__main__":
    MinimalApp(sys.argv[1:]).run()
