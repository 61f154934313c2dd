"""The workspace tree as a windowed source for the virtual table.

:class:`TreeSource` holds what has been loaded — the entries of each directory
listed so far, which directories are open, the git status of each path — and
flattens the open part into display order only when that structure changes
(a directory arrives, opens or closes, hidden files are toggled). Rows are
formatted when painted and cached by path, so a directory of 10,000 entries
costs a screenful to show, like every other list of the app.

Directories load lazily: opening one that was never listed marks it
*loading* (a placeholder row under it) and the screen starts a worker for it;
:meth:`TreeSource.loaded` puts the entries in. The cursor follows its row's
key (the path), so it stays put while children arrive.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from datetime import datetime

from caged_core.models import FileEntry, GitFileStatus
from caged_tui import formatting as fmt
from caged_tui.widgets.virtual_table import Cell, Column, TableRow

ROOT = "/workspace"

COLUMNS = (
    Column("name", "NAME", 24),
    Column("git", "GIT", 3),
    Column("size", "SIZE", 7),
    Column("modified", "MODIFIED", 8),
)

#: Git statuses as a short code and the cell's style, most important first: a folder
#: shows the most important status found below it.
GIT_CODES: dict[str, tuple[str, str]] = {
    "deleted": ("D", "files-tree--deleted"),
    "modified": ("M", "files-tree--modified"),
    "added": ("A", "files-tree--added"),
    "untracked": ("?", "files-tree--untracked"),
    "ignored": ("!", "files-tree--ignored"),
}
_RANK = {status: rank for rank, status in enumerate(GIT_CODES)}
#: Key suffix of the placeholder row shown under a directory while it loads.
LOADING = "\0loading"


def parent_of(path: str) -> str:
    """The directory holding ``path`` (``/workspace`` for top-level entries)."""
    return posixpath.dirname(path.rstrip("/")) or "/"


def ancestors(path: str) -> list[str]:
    """The directories between ``/workspace`` and ``path``, outermost first (both excluded)."""
    found = []
    current = parent_of(path)
    while current.startswith(ROOT + "/"):
        found.append(current)
        current = parent_of(current)
    return found[::-1]


def is_hidden(entry: FileEntry) -> bool:
    """Dotfiles are hidden unless the user asks to see them."""
    return entry.name.startswith(".")


class TreeSource:
    """The loaded part of the workspace, flattened to the rows the table shows."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._entries: dict[str, FileEntry] = {}
        self._children: dict[str, list[str]] = {}
        self._open: set[str] = {ROOT}
        self._loading: set[str] = set()
        self._git: dict[str, str] = {}
        self.show_hidden = False
        self._order: list[str] = []
        self._depth: dict[str, int] = {}
        self._index: dict[str, int] | None = None
        self._formatted: dict[str, TableRow] = {}

    # ------------------------------------------------------------------ TableSource

    @property
    def row_count(self) -> int:
        """Rows shown (open directories' children, placeholders included)."""
        return len(self._order)

    def rows(self, start: int, stop: int) -> list[TableRow]:
        """Rows ``start``..``stop``, formatted on first use."""
        window = []
        for key in self._order[max(start, 0) : stop]:
            row = self._formatted.get(key)
            if row is None:
                row = self._formatted[key] = TableRow(key, self._cells(key))
            window.append(row)
        return window

    def index_of(self, key: str) -> int | None:
        """Where the row ``key`` is shown."""
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self._order)}
        return self._index.get(key)

    # ------------------------------------------------------------------ reading

    def entry(self, path: str) -> FileEntry | None:
        """The loaded entry at ``path``."""
        return self._entries.get(path)

    def is_open(self, path: str) -> bool:
        """Whether the directory ``path`` shows its children."""
        return path in self._open

    def is_loaded(self, path: str) -> bool:
        """Whether the directory ``path`` has been listed."""
        return path in self._children

    def children(self, directory: str) -> list[str]:
        """Paths of the loaded entries of ``directory`` (hidden ones too)."""
        return list(self._children.get(directory, ()))

    def loaded_dirs(self) -> list[str]:
        """Directories listed so far (what a refresh lists again)."""
        return list(self._children)

    def git_status(self, path: str) -> str | None:
        """The git status shown for ``path`` (a folder's: the strongest below it)."""
        return self._git.get(path)

    # ------------------------------------------------------------------ changing

    def loaded(self, directory: str, entries: Iterable[FileEntry]) -> None:
        """The entries of ``directory`` arrived (they replace what was listed before)."""
        old = self._children.get(directory, [])
        listed = list(entries)
        for path in set(old) - {entry.path for entry in listed}:
            self._forget(path)
        for entry in listed:
            if self._entries.get(entry.path) != entry:
                self._formatted.pop(entry.path, None)
            self._entries[entry.path] = entry
        self._children[directory] = [entry.path for entry in listed]
        self._loading.discard(directory)
        self._flatten()

    def _forget(self, path: str) -> None:
        self._entries.pop(path, None)
        self._formatted.pop(path, None)
        self._open.discard(path)
        for child in self._children.pop(path, []):
            self._forget(child)

    def failed(self, directory: str) -> None:
        """Listing ``directory`` failed: it closes again (the screen says why)."""
        self._loading.discard(directory)
        self._open.discard(directory)
        self._formatted.pop(directory, None)
        self._flatten()

    def open(self, directory: str) -> bool:
        """Open ``directory``; returns whether it must be loaded first."""
        self._open.add(directory)
        self._formatted.pop(directory, None)
        must_load = directory not in self._children and directory not in self._loading
        if must_load:
            self._loading.add(directory)
        self._flatten()
        return must_load

    def close(self, directory: str) -> None:
        """Close ``directory`` (its children stay loaded)."""
        self._open.discard(directory)
        self._formatted.pop(directory, None)
        self._flatten()

    def set_hidden(self, show: bool) -> None:
        """Show or hide dotfiles."""
        self.show_hidden = show
        self._flatten()

    def set_git(self, statuses: Sequence[GitFileStatus] | None) -> set[str]:
        """Take the workspace's git statuses (None: not a repository); folders get the
        strongest status below them, ignored folders pass it to what they hold.
        Returns the paths whose status changed."""
        status: dict[str, str] = {}
        for item in statuses or ():
            status[item.path] = item.status
            if item.status == "ignored":
                continue
            for folder in ancestors(item.path):
                current = status.get(folder)
                if current is None or _RANK[item.status] < _RANK.get(current, 99):
                    status[folder] = item.status
        changed = {p for p in status.keys() | self._git.keys() if status.get(p) != self._git.get(p)}
        self._git = status
        for path in changed:
            self._formatted.pop(path, None)
        return changed

    def retime(self, now: datetime) -> None:
        """Move the clock the modification ages are shown against."""
        self._now = now
        self._formatted.clear()

    # ------------------------------------------------------------------ rows

    def _ignored(self, path: str) -> bool:
        return any(self._git.get(p) == "ignored" for p in (*ancestors(path), path))

    def _flatten(self) -> None:
        order: list[str] = []
        depth: dict[str, int] = {}

        def visit(directory: str, level: int) -> None:
            if directory in self._loading:
                key = directory + LOADING
                order.append(key)
                depth[key] = level
                return
            for path in self._children.get(directory, ()):
                entry = self._entries[path]
                if not self.show_hidden and is_hidden(entry):
                    continue
                order.append(path)
                depth[path] = level
                if entry.is_dir and path in self._open:
                    visit(path, level + 1)

        visit(ROOT, 0)
        self._order, self._depth, self._index = order, depth, None

    def _cells(self, key: str) -> tuple[Cell, ...]:
        indent = "  " * self._depth.get(key, 0)
        if key.endswith(LOADING):
            return ((f"{indent}  loading…", "files-tree--muted"), ("", ""), ("", ""), ("", ""))
        entry = self._entries[key]
        status = self._git.get(key)
        if status is None and self._ignored(key):
            status = "ignored"
        code, style = GIT_CODES.get(status or "", ("", ""))
        if entry.is_dir:
            marker = "▾ " if key in self._open else "▸ "
            name = (f"{indent}{marker}{entry.name}/", style or "files-tree--dir")
            size = ""
        else:
            name = (f"{indent}  {entry.name}", style)
            size = human_size(entry.size)
        return (name, (code, style), (size, ""), (fmt.since(entry.mod_time, self._now), ""))


def human_size(count: int) -> str:
    """A byte count, compact: ``512 B``, ``12.3 KB``, ``4.1 MB`` (powers of 1000)."""
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000:
            return f"{count} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
