"""The files screen: a sandbox's ``/workspace`` as a lazy tree, a preview beside it.

The tree is the app's one virtual table over a :class:`TreeSource`: each
directory is listed by a worker of its own when first opened (a placeholder
row shows meanwhile and the cursor stays on its row), so a workspace of any
size opens at the speed of its first directory. Git statuses come from the live
feed (one topic per sandbox, every few seconds while the screen is in front),
computed inside the sandbox. ``/`` finds by path over a listing of the whole
workspace made inside the sandbox (:meth:`Files.walk
<caged_core.client.files.Files.walk>`), fetched once and kept until ``r``.

File operations (new file or folder, rename, delete) go through client
methods; edits through the :class:`FilePreview`.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

from caged_core.client.files import GitStatus
from caged_core.errors import CagedAPIError, CagedAuthError, CagedError
from caged_core.models import FileEntry, GitFileStatus
from caged_tui.live import Fetched, TopicSpec
from caged_tui.safe_text import controls_escaped, pasteable, printable
from caged_tui.screens.base import CagedScreen
from caged_tui.screens.files import fuzzy
from caged_tui.screens.files.editor_command import editor_argv
from caged_tui.screens.files.preview import FilePreview
from caged_tui.screens.files.tree import COLUMNS, ROOT, TreeSource, ancestors, parent_of
from caged_tui.widgets.dialogs import ConfirmDialog, Field, FormDialog
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged

#: Seconds between git status refreshes while the screen is in front.
GIT_INTERVAL = 5.0


class FileTable(VirtualTable):
    """The tree's table: git statuses and folders coloured."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "files-tree--dir",
        "files-tree--muted",
        "files-tree--modified",
        "files-tree--added",
        "files-tree--deleted",
        "files-tree--untracked",
        "files-tree--ignored",
    }

    DEFAULT_CSS = """
    FileTable > .files-tree--dir { color: $accent; text-style: bold; }
    FileTable > .files-tree--muted { color: $text-muted; text-style: italic; }
    FileTable > .files-tree--modified { color: $warning; }
    FileTable > .files-tree--added { color: $success; }
    FileTable > .files-tree--deleted { color: $error; }
    FileTable > .files-tree--untracked { color: $success; text-style: italic; }
    FileTable > .files-tree--ignored { color: $text-disabled; }
    """


def found_cells(path: str, now: datetime) -> tuple[Cell, ...]:
    """A fuzzy-find result's row: the path below the workspace."""
    return ((path.removeprefix(ROOT + "/"), ""),)


def git_topic(sandbox_id: str, screen: FilesScreen) -> TopicSpec[GitStatus]:
    """The live topic of a sandbox's git statuses, fetched while the screen is in front."""

    async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[GitStatus]:
        if not (screen.is_attached and screen.is_current):
            return Fetched(None)
        try:
            return Fetched(await client.files.git_status(sandbox_id))
        except CagedAuthError as error:
            if error.status != 403:
                raise
            # A read-only key may not exec: the REST diff's statuses (no ignored files)
            # instead — and never the feed's "unauthorized", which would stop every topic.
            diff = await client.files.git_diff(sandbox_id)
            return Fetched(GitStatus([_rooted(item) for item in diff.files]))
        except CagedError as error:
            if isinstance(error, CagedAPIError):
                raise  # the feed keeps other topics going and tries again
            return Fetched(None)

    return TopicSpec(f"git-status:{sandbox_id}", fetch, min_interval=GIT_INTERVAL)


def _rooted(item: GitFileStatus) -> GitFileStatus:
    """A diff's repository-relative path as the tree's ``/workspace/...`` one."""
    return GitFileStatus(path=f"{ROOT}/{item.path}", status=item.status)


class FilesScreen(CagedScreen[None]):
    """Browse, preview and edit one sandbox's workspace."""

    SCREEN_TITLE = "Files"
    CSS_PATH = "files.tcss"
    AUTO_FOCUS = "#files-tree"
    PARTS = (FilePreview,)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="files.back"),
        Binding("enter,l,right", "open", "Open", id="files.open"),
        Binding("backspace,h,left", "up", "Up/close", id="files.up"),
        Binding("slash", "find", "Find", key_display="/", id="files.find"),
        Binding("full_stop", "hidden", "Hidden files", key_display=".", id="files.hidden"),
        Binding("e", "edit", "Edit", id="files.edit"),
        # On the screen, not the editor, so that the help lists it wherever the focus is.
        Binding("ctrl+s", "save", "Save", show=False, id="files.save"),
        Binding("E", "external_editor", "$EDITOR", id="files.external_editor"),
        Binding("n", "new_file", "New file", id="files.new_file"),
        Binding("N", "new_folder", "New folder", show=False, id="files.new_folder"),
        Binding("R", "rename", "Rename", show=False, id="files.rename"),
        Binding("d", "delete", "Delete", id="files.delete"),
        Binding("y", "copy_path", "Copy path", show=False, id="files.copy_path"),
        Binding("D", "diff", "Diff", id="files.diff"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="files.refresh"),
    ]

    @dataclass
    class DirLoaded(Message):
        """A directory's entries arrived."""

        path: str
        entries: list[FileEntry]

    @dataclass
    class DirFailed(Message):
        """Listing a directory failed."""

        path: str
        reason: str

    @dataclass
    class Walked(Message):
        """The whole workspace was listed (for the fuzzy find)."""

        paths: list[str]

    @dataclass
    class Revealed(Message):
        """The folders above ``path`` are loaded: put the cursor on it."""

        path: str

    @dataclass
    class EditorReady(Message):
        """A file's text, fetched for ``$EDITOR``."""

        path: str
        text: str

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self._source = TreeSource(self.now())
        self._found: ListSource[str] = ListSource(lambda path: path, found_cells, self.now())
        self._paths: list[str] | None = None
        self._find_query = ""
        self._git_repository: bool | None = None

    @property
    def context_sandbox_id(self) -> str:
        """The sandbox this screen is about (``:diff``, ``:snapshots`` use it)."""
        return self.sandbox_id

    def compose_body(self) -> ComposeResult:
        yield Static(f"{self.sandbox_id} · {ROOT}", id="files-title", markup=False)
        with Horizontal(id="files-body"):
            with Vertical(id="files-left"):
                yield Input(placeholder="find a file by path (fuzzy)", id="files-find")
                yield VirtualTable((Column("path", "MATCHES", 40),), self._found, id="files-found")
                yield FileTable(COLUMNS, self._source, id="files-tree")
            yield FilePreview(self.sandbox_id, id="files-preview")

    def on_mount(self) -> None:
        super().on_mount()
        self._open_dir(ROOT)
        self.caged.live.subscribe(self, git_topic(self.sandbox_id, self), self._git_loaded)

    @property
    def table(self) -> FileTable:
        """The tree's table."""
        return self.query_one("#files-tree", FileTable)

    @property
    def preview(self) -> FilePreview:
        """The preview/editor pane."""
        return self.query_one(FilePreview)

    def current(self) -> FileEntry | None:
        """The entry under the tree's cursor."""
        key = self.table.cursor_key
        return self._source.entry(key) if key is not None else None

    # ------------------------------------------------------------------ loading

    def _open_dir(self, path: str) -> None:
        if self._source.open(path):
            self.list_dir(path)
        self.table.source_changed()

    @work(group="files.dir", exit_on_error=False, description="Listing a folder")
    async def list_dir(self, path: str) -> None:
        """List one directory (a worker per directory; several may run at once)."""
        try:
            entries = (await self.client.files.list(self.sandbox_id, path)).items
        except CagedError as error:
            self.post_message(self.DirFailed(path, str(error)))
            return
        self.post_message(self.DirLoaded(path, entries))

    @on(DirLoaded)
    def _dir_loaded(self, event: DirLoaded) -> None:
        self._source.loaded(event.path, event.entries)
        self.table.source_changed()
        self._follow_cursor()

    @on(DirFailed)
    def _dir_failed(self, event: DirFailed) -> None:
        self._source.failed(event.path)
        self.table.source_changed()
        self.notify(event.reason, title=f"Cannot list {printable(event.path)}", severity="error")

    def _git_loaded(self, status: GitStatus) -> None:
        self._git_repository = status.is_repository
        self.table.refresh_keys(self._source.set_git(status.files))
        self._render_title()

    def _render_title(self) -> None:
        parts = [self.sandbox_id, ROOT]
        if self._git_repository is False:
            parts.append("not a git repository")
        if self._source.show_hidden:
            parts.append("hidden files shown")
        self.query_one("#files-title", Static).update(" · ".join(parts))

    # ------------------------------------------------------------------ preview

    @on(VirtualTable.CursorMoved)
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        if event.table.id == "files-tree":
            self._follow_cursor()

    def _follow_cursor(self) -> None:
        entry = self.current()
        if entry is not None and entry.path == self.preview.path and not entry.is_dir:
            return
        children = None
        if entry is not None and entry.is_dir and self._source.is_loaded(entry.path):
            children = len(self._source.children(entry.path))
        self.preview.show(entry, children=children)

    @on(FilePreview.Saved)
    def _saved(self, event: FilePreview.Saved) -> None:
        # The row's size and modification time changed; git's status follows on the feed.
        self.list_dir(parent_of(event.path))
        self.caged.live.poke()

    @on(FilePreview.EditingEnded)
    def _editing_ended(self) -> None:
        self.table.focus()

    # ------------------------------------------------------------------ navigation

    def action_open(self) -> None:
        """Open the folder under the cursor, or focus the file's preview."""
        if self.focused is self.query_one("#files-found"):
            self._reveal_found()
            return
        entry = self.current()
        if entry is None:
            return
        if entry.is_dir:
            if self._source.is_open(entry.path):
                first = self._source.children(entry.path)
                if first and (index := self._source.index_of(first[0])) is not None:
                    self.table.cursor_row = index
            else:
                self._open_dir(entry.path)
        else:
            self.preview.text_area.focus()

    def action_up(self) -> None:
        """Close the open folder under the cursor, else go to the folder above."""
        entry = self.current()
        if entry is None:
            return
        if entry.is_dir and self._source.is_open(entry.path):
            self._source.close(entry.path)
            self.table.source_changed()
            return
        parent = parent_of(entry.path)
        if parent != ROOT:
            self.table.move_to(parent)

    def action_hidden(self) -> None:
        """Show or hide dotfiles."""
        self._source.set_hidden(not self._source.show_hidden)
        self.table.source_changed()
        self._render_title()

    def action_refresh(self) -> None:
        """List the loaded folders again, refresh git statuses, forget the find listing."""
        self._paths = None
        for path in self._source.loaded_dirs():
            self.list_dir(path)
        self.caged.live.poke()

    def action_back(self) -> None:
        """Back to where the files were opened from (asks about unsaved changes)."""
        if self.preview.modified:
            self.preview.ask_unsaved(self.app.pop_screen)
        elif self.query_one("#files-left").has_class("-finding"):
            self._close_find()
        else:
            self.app.pop_screen()

    def action_copy_path(self) -> None:
        """Copy the path under the cursor (OSC 52), as a shell's ``$'…'`` word with its control
        characters escaped if it holds any."""
        if entry := self._require_current():
            copied = pasteable(entry.path)
            self.app.copy_to_clipboard(copied)
            self.notify(f"Copied {printable(copied)}")

    def action_diff(self) -> None:
        """Open the workspace's git diff."""
        from caged_tui.screens.diff import DiffScreen

        self.app.push_screen(DiffScreen(self.sandbox_id))

    def _require_current(self) -> FileEntry | None:
        entry = self.current()
        if entry is None:
            self.notify("No file selected.", severity="warning")
        return entry

    # ------------------------------------------------------------------ find

    def action_find(self) -> None:
        """Find a file by path, fuzzily, over the whole workspace."""
        self.query_one("#files-left").add_class("-finding")
        box = self.query_one("#files-find", Input)
        self.call_after_refresh(box.focus)
        if self._paths is None:
            self.walk()

    @work(
        exclusive=True, group="files.walk", exit_on_error=False, description="Listing the workspace"
    )
    async def walk(self) -> None:
        """List every path of the workspace (inside the sandbox, one request)."""
        entries = await self.client.files.walk(self.sandbox_id)
        self.post_message(self.Walked([entry.path for entry in entries]))

    @on(Walked)
    def _walked(self, event: Walked) -> None:
        self._paths = event.paths
        self._show_found()

    @on(Input.Changed, "#files-find")
    def _find_changed(self, event: Input.Changed) -> None:
        self._find_query = event.value
        self._show_found()

    def _show_found(self) -> None:
        if self._paths is None:
            return
        matches = fuzzy.find(self._paths, self._find_query)
        table = self.query_one("#files-found", VirtualTable)
        self._found.update(matches)
        self._found.view(filter=None, sort=None, reverse=False)
        table.source_changed()
        table.cursor_row = 0

    @on(Input.Submitted, "#files-find")
    def _find_submitted(self) -> None:
        self._reveal_found()

    def _reveal_found(self) -> None:
        table = self.query_one("#files-found", VirtualTable)
        path = table.cursor_key
        if path is None:
            self.notify("No file matches.", severity="warning")
            return
        self._close_find()
        self.reveal(path)

    def _close_find(self) -> None:
        self.query_one("#files-left").remove_class("-finding")
        self.table.focus()

    @work(exclusive=True, group="files.reveal", exit_on_error=False, description="Opening folders")
    async def reveal(self, path: str, *, fresh: bool = False) -> None:
        """Open every folder above ``path`` (listing those not loaded, and its own folder
        again when ``fresh``: it was just created there), then select it."""
        for folder in [ROOT, *ancestors(path)]:
            if not self._source.is_loaded(folder) or (fresh and folder == parent_of(path)):
                entries = (await self.client.files.list(self.sandbox_id, folder)).items
                self.post_message(self.DirLoaded(folder, entries))
        self.post_message(self.Revealed(path))

    @on(Revealed)
    def _revealed(self, event: Revealed) -> None:
        for folder in ancestors(event.path):
            self._source.open(folder)
        self.table.source_changed()
        self.table.move_to(event.path)
        self._follow_cursor()

    # ------------------------------------------------------------------ editing

    def action_edit(self) -> None:
        """Edit the file shown in the preview (ctrl+s saves)."""
        if not self.preview.edit():
            self.notify("Select a text file to edit.", severity="warning")

    def action_save(self) -> None:
        """Save the file being edited (checks the sandbox did not change it meanwhile)."""
        self.preview.action_save()

    def action_new_file(self) -> None:
        """Create an empty file in the folder under the cursor (or beside the file)."""
        self._ask_name("New file", self._create_file)

    def action_new_folder(self) -> None:
        """Create a folder in the folder under the cursor (or beside the file)."""
        self._ask_name("New folder", self._create_folder)

    def _target_folder(self) -> str:
        entry = self.current()
        if entry is None:
            return ROOT
        return entry.path if entry.is_dir else parent_of(entry.path)

    def _ask_name(self, title: str, then: Callable[[str], object]) -> None:
        folder = self._target_folder()

        def answered(values: dict[str, str] | None) -> None:
            if values:
                then(f"{folder}/{values['name'].strip('/')}")

        self.app.push_screen(
            FormDialog(
                f"{title} in {printable(folder)}", [Field("name", "Name", placeholder="name")]
            ),
            callback=answered,
        )

    @work(group="files.change", exit_on_error=False, description="Creating a file")
    async def _create_file(self, path: str) -> None:
        await self.client.files.write(self.sandbox_id, path, "")
        self._changed(path, f"Created {printable(path)}")

    @work(group="files.change", exit_on_error=False, description="Creating a folder")
    async def _create_folder(self, path: str) -> None:
        await self.client.files.make_dir(self.sandbox_id, path)
        self._changed(path, f"Created {printable(path)}/")

    def _changed(self, path: str, note: str) -> None:
        """After a change: list the folders concerned again and select ``path``."""
        self.notify(note)
        self._paths = None
        self.reveal(path, fresh=True)
        self.caged.live.poke()

    def action_rename(self) -> None:
        """Rename (or move) the entry under the cursor."""
        entry = self._require_current()
        if entry is None:
            return

        # An input paints its value as it is: a name's control characters are offered escaped.
        shown = controls_escaped(entry.path)

        def answered(values: dict[str, str] | None) -> None:
            if values and values["path"] != shown:
                self._rename(entry.path, values["path"])

        self.app.push_screen(
            FormDialog(
                f"Rename {printable(entry.name)}", [Field("path", "New path", shown)], "Rename"
            ),
            callback=answered,
        )

    @work(group="files.change", exit_on_error=False, description="Renaming")
    async def _rename(self, path: str, new_path: str) -> None:
        await self.client.files.rename(self.sandbox_id, path, new_path)
        self.list_dir(parent_of(path))
        self._changed(new_path, f"Renamed to {printable(new_path)}")

    def action_delete(self) -> None:
        """Delete the entry under the cursor after confirmation (Cancel is the default)."""
        entry = self._require_current()
        if entry is None:
            return
        what = "folder and everything in it" if entry.is_dir else "file"
        dialog = ConfirmDialog(
            f"Delete {printable(entry.name)}?",
            f"{printable(entry.path)}\n\n"
            f"This deletes the {what} in the sandbox. It cannot be undone.",
            confirm_label="Delete",
        )

        def confirmed(answer: bool | None) -> None:
            if answer:
                self._delete(entry.path)

        self.app.push_screen(dialog, callback=confirmed)

    @work(group="files.change", exit_on_error=False, description="Deleting")
    async def _delete(self, path: str) -> None:
        await self.client.files.delete(self.sandbox_id, path)
        self.notify(f"Deleted {printable(path)}")
        self._paths = None
        self.list_dir(parent_of(path))
        self.caged.live.poke()

    # ------------------------------------------------------------------ $EDITOR

    def action_external_editor(self) -> None:
        """Edit the file in ``$EDITOR``: a temporary copy, uploaded on exit if changed."""
        entry = self._require_current()
        if entry is None or entry.is_dir:
            self.notify("Select a file to edit.", severity="warning")
            return
        if self.preview.modified:
            self.notify("Save or discard the changes in the preview first.", severity="warning")
            return
        self._fetch_for_editor(entry.path)

    @work(group="files.editor", exit_on_error=False, description="Reading a file for $EDITOR")
    async def _fetch_for_editor(self, path: str) -> None:
        text = await self.client.files.read(self.sandbox_id, path)
        self.post_message(self.EditorReady(path, text))

    @on(EditorReady)
    def _editor_ready(self, event: EditorReady) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        suffix = Path(event.path).suffix
        # Only for the editor's highlighting: not the control characters of a sandbox-chosen
        # name (editors show it in the terminal's title), nor one too long for a file name.
        if not suffix.isprintable() or len(suffix) > 32:
            suffix = ""
        try:
            with tempfile.TemporaryDirectory(prefix="caged-edit-") as folder:
                local = Path(folder) / f"edit{suffix}"
                local.write_text(event.text, encoding="utf-8")
                try:
                    with self.app.suspend():
                        subprocess.run(editor_argv(editor, str(local)), check=False)
                except SuspendNotSupported:
                    self.notify("This terminal cannot hand over to $EDITOR.", severity="error")
                    return
                except OSError as error:
                    self.notify(f"Could not start {editor}: {error}", severity="error")
                    return
                edited = local.read_text(encoding="utf-8", errors="replace")
        except OSError as error:  # The copy could not be made or read back (a full /tmp).
            self.notify(
                f"Could not make a copy for {editor}: {error.strerror or error}", severity="error"
            )
            return
        if edited == event.text:
            self.notify("No changes.")
            return
        self._upload_edited(event.path, event.text, edited)

    @work(group="files.editor", exit_on_error=False, description="Saving the edited file")
    async def _upload_edited(self, path: str, original: str, edited: str) -> None:
        remote = await self.client.files.read(self.sandbox_id, path)
        if remote != original:
            self.notify(
                f"{printable(path)} changed in the sandbox while you edited it; your copy was not "
                "uploaded. Open it with e to compare and choose.",
                severity="error",
                timeout=10,
            )
            return
        await self.client.files.write(self.sandbox_id, path, edited)
        self.notify(f"Saved {printable(path)}")
        if self.preview.path == path:
            self.preview.reload()
        self.list_dir(parent_of(path))
        self.caged.live.poke()
