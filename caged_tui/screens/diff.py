"""The diff screen: what changed in a sandbox's git work tree.

Left, the changed files (the shared virtual table): status, path, lines added
and removed, and whether the change is staged or not — a file changed in both
has a row for each. Right, the selected file's diff, unified or side by side
(``s``), added and removed lines coloured and the words that changed inside a
changed line marked; ``n``/``p`` jump between hunks. The diff comes from the
live feed (git runs inside the sandbox), so it follows changes while shown; a
workspace that is not a git repository says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from caged_core.errors import CagedAPIError, CagedAuthError, CagedCommandError
from caged_core.models import GitDiff
from caged_tui import unified_diff
from caged_tui.live import Fetched, TopicSpec
from caged_tui.screens.base import CagedScreen
from caged_tui.unified_diff import FileDiff, Line
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged

COLUMNS = (
    Column("status", "ST", 2),
    Column("path", "FILE", 20),
    Column("added", "+", 4),
    Column("removed", "−", 4),  # noqa: RUF001 - the minus sign is the intended glyph
    Column("where", "WHERE", 9),
)

_LETTERS = {"modified": "M", "added": "A", "deleted": "D", "untracked": "?"}


@dataclass(frozen=True, slots=True)
class Changes:
    """A sandbox's git state as the screen shows it (``problem``: why there is none)."""

    repository: bool
    diff: GitDiff
    problem: str = ""


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One row: a file's staged or unstaged change (``diff`` None for untracked files)."""

    where: str
    path: str
    status: str
    diff: FileDiff | None

    @property
    def key(self) -> str:
        """Unique per row: a file may be both staged and changed again."""
        return f"{self.where}:{self.path}"


def changed_files(diff: GitDiff) -> list[ChangedFile]:
    """Staged changes first, then unstaged ones, then untracked files."""
    status = {item.path: item.status for item in diff.files}
    rows = [
        ChangedFile(where, file.path, status.get(file.path, "modified"), file)
        for where, text in (("staged", diff.staged_diff), ("unstaged", diff.diff))
        for file in unified_diff.parse(text)
    ]
    rows += [
        ChangedFile("untracked", item.path, "untracked", None)
        for item in diff.files
        if item.status == "untracked"
    ]
    return rows


def file_cells(row: ChangedFile, now: datetime) -> tuple[Cell, ...]:
    """A changed file's row."""
    added = row.diff.added if row.diff else 0
    removed = row.diff.removed if row.diff else 0
    return (
        (_LETTERS.get(row.status, "M"), f"diff-files--{row.status}"),
        (row.path, ""),
        (f"+{added}" if added else "", "diff-files--added"),
        (f"−{removed}" if removed else "", "diff-files--deleted"),  # noqa: RUF001
        (row.where, "diff-files--where"),
    )


def diff_topic(sandbox_id: str, screen: DiffScreen) -> TopicSpec[Changes]:
    """The live topic of a sandbox's diff, fetched while the screen is in front."""

    async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[Changes]:
        if not (screen.is_attached and screen.is_current):
            return Fetched(None)
        try:
            diff = await client.files.git_diff(sandbox_id)
        except CagedAPIError as error:
            if error.status >= 500 or error.status in (401, 403, 429):
                raise  # the feed's business (health, backoff)
            # A paused or stopped sandbox (git runs inside it): the screen says so.
            return Fetched(Changes(True, GitDiff(), problem=str(error)))
        if diff.files or diff.diff or diff.staged_diff:
            return Fetched(Changes(True, diff))
        # The route answers a workspace outside git with an empty diff: ask git.
        try:
            status = await client.files.git_status(sandbox_id)
        except CagedCommandError:
            return Fetched(Changes(True, diff))  # git could not say: the (empty) diff
        except CagedAuthError as error:
            if error.status != 403:
                raise
            return Fetched(Changes(True, diff))  # a read-only key may not exec: the same
        return Fetched(Changes(status.is_repository, diff))

    return TopicSpec(f"git-diff:{sandbox_id}", fetch, min_interval=5.0)


class DiffFileTable(VirtualTable):
    """The changed files, statuses coloured."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "diff-files--modified",
        "diff-files--added",
        "diff-files--deleted",
        "diff-files--untracked",
        "diff-files--where",
    }

    DEFAULT_CSS = """
    DiffFileTable > .diff-files--modified { color: $warning; }
    DiffFileTable > .diff-files--added { color: $success; }
    DiffFileTable > .diff-files--deleted { color: $error; }
    DiffFileTable > .diff-files--untracked { color: $success; text-style: italic; }
    DiffFileTable > .diff-files--where { color: $text-muted; }
    """


class DiffView(Widget):
    """One file's diff, unified or side by side; knows where its hunks start."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "diff-view--added",
        "diff-view--removed",
        "diff-view--added-word",
        "diff-view--removed-word",
        "diff-view--hunk",
        "diff-view--meta",
        "diff-view--number",
    }

    DEFAULT_CSS = """
    DiffView { height: auto; width: 1fr; }
    DiffView > .diff-view--added { background: $success 15%; }
    DiffView > .diff-view--removed { background: $error 15%; }
    DiffView > .diff-view--added-word { background: $success 45%; text-style: bold; }
    DiffView > .diff-view--removed-word { background: $error 45%; text-style: bold; }
    DiffView > .diff-view--hunk { color: $accent; text-style: bold; }
    DiffView > .diff-view--meta { color: $text-muted; }
    DiffView > .diff-view--number { color: $text-disabled; }
    """

    side_by_side: reactive[bool] = reactive(False, layout=True)
    file: reactive[FileDiff | None] = reactive(None, layout=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Line offsets (from the top) where each hunk starts, as last rendered.
        self.hunk_offsets: list[int] = []

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"diff-view--{name}", partial=True)

    def render(self) -> RenderableType:
        file = self.file
        if file is None:
            self.hunk_offsets = []
            return Text("")
        if self.side_by_side:
            return self._side_by_side(file)
        return self._unified(file)

    def _line_text(self, line: Line) -> Text:
        kind = {"+": "added", "-": "removed"}.get(line.kind)
        text = Text(line.text, style=self._style(kind) if kind else Style(), no_wrap=True)
        for start, end in line.changed:
            text.stylize(self._style(f"{kind}-word"), start, end)
        return text

    def _unified(self, file: FileDiff) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        offsets = []
        row = 0
        meta = self._style("meta")
        for header in file.header:
            out.append(header + "\n", meta)
            row += 1
        if file.binary:
            out.append("(binary file: no text diff)\n", meta)
        number = self._style("number")
        for hunk in file.hunks:
            offsets.append(row)
            out.append(hunk.header + "\n", self._style("hunk"))
            row += 1
            for line in hunk.lines:
                old = "" if line.old is None else str(line.old)
                new = "" if line.new is None else str(line.new)
                out.append(f"{old:>5} {new:>5} ", number)
                kind = {"+": "added", "-": "removed"}.get(line.kind)
                out.append(line.kind, self._style(kind) if kind else Style())
                out.append_text(self._line_text(line))
                out.append("\n")
                row += 1
        self.hunk_offsets = offsets
        return out

    def _side_by_side(self, file: FileDiff) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        number = self._style("number")
        table.add_column(justify="right", style=number, width=5)
        table.add_column(ratio=1, no_wrap=True, overflow="crop")
        table.add_column(justify="right", style=number, width=5)
        table.add_column(ratio=1, no_wrap=True, overflow="crop")
        offsets = []
        row = 0
        meta = self._style("meta")
        for header in file.header:
            table.add_row("", Text(header, meta), "", "")
            row += 1
        for hunk in file.hunks:
            offsets.append(row)
            table.add_row("", Text(hunk.header, self._style("hunk")), "", "")
            row += 1
            for removed, added in unified_diff.runs(hunk.lines):
                for index in range(max(len(removed), len(added))):
                    left = removed[index] if index < len(removed) else None
                    right = added[index] if index < len(added) else None
                    table.add_row(
                        str(left.old) if left and left.old is not None else "",
                        self._line_text(left) if left else "",
                        str(right.new) if right and right.new is not None else "",
                        self._line_text(right) if right else "",
                    )
                    row += 1
        self.hunk_offsets = offsets
        return table


class DiffScreen(CagedScreen[None]):
    """The git diff of one sandbox's workspace."""

    SCREEN_TITLE = "Diff"
    CSS_PATH = "diff.tcss"
    AUTO_FOCUS = "#diff-files"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="diff.back"),
        Binding("s", "toggle_layout", "Side by side/unified", id="diff.layout"),
        Binding("n", "next_hunk", "Next hunk", id="diff.next_hunk"),
        Binding("p", "previous_hunk", "Previous hunk", id="diff.previous_hunk"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="diff.refresh"),
    ]

    side_by_side: reactive[bool] = reactive(False, init=False)

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self._source: ListSource[ChangedFile] = ListSource(
            lambda row: row.key, file_cells, self.now()
        )
        self._hunk = 0

    @property
    def context_sandbox_id(self) -> str:
        """This sandbox."""
        return self.sandbox_id

    def compose_body(self) -> ComposeResult:
        yield Static(f"{self.sandbox_id} · git diff · loading…", id="diff-title", markup=False)
        with Horizontal(id="diff-body"):
            yield DiffFileTable(COLUMNS, self._source, id="diff-files")
            with VerticalScroll(id="diff-scroll"):
                yield DiffView(id="diff-view")

    def on_mount(self) -> None:
        super().on_mount()
        self.caged.live.subscribe(self, diff_topic(self.sandbox_id, self), self._loaded)

    @property
    def view(self) -> DiffView:
        """The diff of the selected file."""
        return self.query_one(DiffView)

    def _loaded(self, changes: Changes) -> None:
        rows = changed_files(changes.diff)
        self._source.update(rows)
        table = self.query_one(DiffFileTable)
        table.source_changed()
        staged = sum(row.where == "staged" for row in rows)
        if changes.problem:
            summary = f"no diff: {changes.problem}"
        elif not changes.repository:
            summary = "/workspace is not a git repository: there is no diff to show"
        elif not rows:
            summary = "no changes: the work tree matches the last commit"
        else:
            summary = f"{len(rows)} changed ({staged} staged, {len(rows) - staged} not)"
        self.set_class(not rows, "-empty")
        title = f"{self.sandbox_id} · git diff · {summary}"
        self.query_one("#diff-title", Static).update(title)
        self._show_selected()

    @on(VirtualTable.CursorMoved)
    def _cursor_moved(self) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        key = self.query_one(DiffFileTable).cursor_key
        row = self._source.get(key) if key is not None else None
        view = self.view
        new = row.diff if row else None
        if view.file is not new:
            view.file = new
            self._hunk = 0
            self.query_one("#diff-scroll").scroll_home(animate=False)

    def watch_side_by_side(self, side_by_side: bool) -> None:
        self.view.side_by_side = side_by_side
        self.set_class(side_by_side, "-side-by-side")

    def action_toggle_layout(self) -> None:
        """Switch between the unified and the side-by-side layout."""
        self.side_by_side = not self.side_by_side

    def _go_hunk(self, step: int) -> None:
        offsets = self.view.hunk_offsets
        if not offsets:
            self.notify("No hunks in this file.", severity="warning")
            return
        self._hunk = max(0, min(self._hunk + step, len(offsets) - 1))
        self.query_one("#diff-scroll").scroll_to(y=offsets[self._hunk], animate=False)

    def action_next_hunk(self) -> None:
        """Scroll to the next hunk."""
        self._go_hunk(1)

    def action_previous_hunk(self) -> None:
        """Scroll to the previous hunk."""
        self._go_hunk(-1)

    def action_refresh(self) -> None:
        """Fetch the diff again now."""
        self.caged.live.poke()

    def action_back(self) -> None:
        """Back to where the diff was opened from."""
        self.app.pop_screen()
