"""The pane beside the tree: a file's preview, and its editor.

It follows the tree's cursor (like ranger): text files are shown in a read-only
:class:`TextArea` with line numbers and syntax highlighting; binary files and
files over the read limit are described (size, kind, first bytes as hex) and
never shown garbled; folders say what they hold.

``e`` makes the text editable; ``ctrl+s`` saves through the API. The text as it
was loaded is kept: before writing, the file is read again, and if the sandbox
changed it meanwhile the user chooses to reload, overwrite or see the diff
first. While there are unsaved changes the pane keeps its file (the tree may
move on) and :attr:`FilePreview.modified` is set, which the screen asks about
before leaving.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static, TextArea

from caged_core.errors import CagedError
from caged_core.models import FileEntry
from caged_tui.protocol import HostAccess
from caged_tui.safe_text import controls_escaped, printable
from caged_tui.screens.files.describe import (
    HEAD_BYTES,
    READ_LIMIT,
    hex_dump,
    kind_of,
    language_of,
    looks_binary,
)
from caged_tui.screens.files.tree import human_size
from caged_tui.widgets.dialogs import Choice, ChoiceDialog
from caged_tui.widgets.text_view import TextView


class PreviewState(StrEnum):
    """What the pane shows; each value is also a CSS class (``-text`` …)."""

    EMPTY = "empty"
    LOADING = "loading"
    TEXT = "text"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Opened:
    """A text file as loaded: what a save compares the sandbox's copy with."""

    path: str
    text: str


class FilePreview(HostAccess, Vertical):
    """Preview and editor of one file of a sandbox."""

    #: Where its actions act, for the palette (a part of the files screen).
    TITLE: ClassVar[str] = "editor"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_editing", "Stop editing", id="files.stop_editing"),
    ]

    state: reactive[PreviewState] = reactive(PreviewState.EMPTY, init=False)
    modified: reactive[bool] = reactive(False, init=False)
    editing: reactive[bool] = reactive(False, init=False)

    @dataclass
    class TextLoaded(Message):
        """A text file's content arrived."""

        path: str
        text: str

    @dataclass
    class Described(Message):
        """What to say about a file that is not shown as text."""

        path: str
        description: str

    @dataclass
    class Saved(Message):
        """The text was written to the sandbox."""

        path: str
        text: str

    class EditingEnded(Message):
        """The editor was left (saved, discarded or unchanged): the tree may take the focus."""

    @dataclass
    class Conflicted(Message):
        """The sandbox's copy changed since it was opened; ``remote`` is its text now."""

        path: str
        remote: str

    def __init__(self, sandbox_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sandbox_id = sandbox_id
        self.opened: Opened | None = None
        self._path: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-title", markup=False)
        yield TextArea(
            "", read_only=True, show_line_numbers=True, soft_wrap=False, id="preview-text"
        )
        yield Static("", id="preview-info", markup=False)

    def on_mount(self) -> None:
        self.set_class(True, f"-{self.state.value}")

    @property
    def text_area(self) -> TextArea:
        """The text (read-only unless editing)."""
        return self.query_one("#preview-text", TextArea)

    @property
    def path(self) -> str | None:
        """The path shown."""
        return self._path

    # ------------------------------------------------------------------ showing

    def show(self, entry: FileEntry | None, *, children: int | None = None) -> None:
        """Show ``entry`` (None: nothing). Ignored while there are unsaved changes:
        the edited file stays until it is saved or the changes are dropped."""
        if self.modified:
            return
        self.editing = False
        self.opened = None
        self._path = entry.path if entry else None
        if entry is None:
            self._info("", "")
            self.state = PreviewState.EMPTY
        elif entry.is_dir:
            held = f"{children} entries" if children is not None else "not listed yet"
            self._info(entry.path, f"Folder · {held}\n\nenter or l opens it.")
        elif entry.size > READ_LIMIT:
            self._loading(entry.path)
            self.describe_file(entry, "over the 1 MB the API reads")
        else:
            self._loading(entry.path)
            self.load_text(entry)

    def reload(self) -> None:
        """Read the shown file again (its unsaved changes are dropped)."""
        self.modified = False
        if self.opened is not None:
            self._loading(self.opened.path)
            self.load_text(FileEntry(name="", path=self.opened.path))

    def _loading(self, path: str) -> None:
        self.query_one("#preview-title", Static).update(printable(path))
        self.query_one("#preview-info", Static).update("Loading…")
        self.state = PreviewState.LOADING

    def _info(self, title: str, text: str) -> None:
        # Names and the server's reasons come from the sandbox: escaped, line by line.
        self.query_one("#preview-title", Static).update(printable(title))
        info = "\n".join(controls_escaped(line) for line in text.split("\n"))
        self.query_one("#preview-info", Static).update(info)
        self.state = PreviewState.INFO

    @work(exclusive=True, group="files.preview", exit_on_error=False, description="Reading a file")
    async def load_text(self, entry: FileEntry) -> None:
        """Read a file; binary content is described instead of shown."""
        try:
            text = await self.client.files.read(self.sandbox_id, entry.path)
        except CagedError as error:
            self.post_message(self.Described(entry.path, f"Cannot read this file:\n{error}"))
            return
        if looks_binary(text):
            await self._describe(entry, "binary: not shown as text")
        else:
            self.post_message(self.TextLoaded(entry.path, text))

    @work(exclusive=True, group="files.preview", exit_on_error=False, description="Reading a file")
    async def describe_file(self, entry: FileEntry, why: str) -> None:
        """Describe a file that is not shown (too large)."""
        await self._describe(entry, why)

    async def _describe(self, entry: FileEntry, why: str) -> None:
        try:
            head = await self.client.files.head(self.sandbox_id, entry.path, HEAD_BYTES)
        except CagedError as error:
            first = f"First bytes unavailable: {error}"
            kind = kind_of(entry.path, b"")
        else:
            first = f"First {len(head)} bytes:\n{hex_dump(head)}"
            kind = kind_of(entry.path, head)
        size = human_size(entry.size) if entry.size else "size unknown"
        self.post_message(self.Described(entry.path, f"{kind} · {size} · {why}\n\n{first}"))

    @on(TextLoaded)
    def _text_loaded(self, event: TextLoaded) -> None:
        if event.path != self._path or self.modified:
            return
        self.opened = Opened(event.path, event.text)
        area = self.text_area
        area.load_text(event.text)
        area.language = language_of(event.path)
        area.read_only = not self.editing
        self.query_one("#preview-title", Static).update(printable(event.path))
        self.state = PreviewState.TEXT

    @on(Described)
    def _described(self, event: Described) -> None:
        if event.path == self._path and not self.modified:
            self._info(event.path, event.description)

    # ------------------------------------------------------------------ editing

    def edit(self) -> bool:
        """Make the shown text editable and focus it; False when no text is shown."""
        if self.state is not PreviewState.TEXT or self.opened is None:
            return False
        self.editing = True
        self.text_area.focus()
        return True

    def watch_editing(self, old: bool, editing: bool) -> None:
        if old and not editing:
            self.post_message(self.EditingEnded())
        self.refresh_bindings()
        self.text_area.read_only = not editing
        self.set_class(editing, "-editing")
        self._title()

    def watch_modified(self, modified: bool) -> None:
        self.set_class(modified, "-modified")
        self._title()

    def watch_state(self, old: PreviewState, new: PreviewState) -> None:
        self.remove_class(f"-{old.value}")
        self.add_class(f"-{new.value}")

    def _title(self) -> None:
        if self.opened is None:
            return
        marks = (" ● modified" if self.modified else "") + (
            " · editing (ctrl+s saves, esc stops)" if self.editing else ""
        )
        self.query_one("#preview-title", Static).update(printable(self.opened.path) + marks)

    @on(TextArea.Changed, "#preview-text")
    def _changed(self) -> None:
        self.modified = self.opened is not None and self.text_area.text != self.opened.text

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``esc`` is the editor's only while editing; otherwise it goes on to the screen."""
        if action == "stop_editing":
            return self.editing
        return True

    def action_stop_editing(self) -> None:
        """Leave the editor (asks first when there are unsaved changes)."""
        if not self.editing:
            return
        if not self.modified:
            self.editing = False
            return
        self.ask_unsaved(lambda: None)

    def ask_unsaved(self, then: Callable[[], object]) -> None:
        """Ask save / discard / cancel; ``then()`` runs once saved or discarded."""
        path = self.opened.path if self.opened else ""

        def answered(choice: str | None) -> None:
            if choice == "save":
                self.save(then_run=then)
            elif choice == "discard":
                self.discard()
                then()

        self.app.push_screen(
            ChoiceDialog(
                "Unsaved changes",
                f"{printable(path)} has changes that are not saved in the sandbox.",
                [
                    Choice("save", "Save", "s", "primary"),
                    Choice("discard", "Discard", "d", "error"),
                    Choice("cancel", "Cancel", "c"),
                ],
            ),
            callback=answered,
        )

    def discard(self) -> None:
        """Drop the unsaved changes (the text as loaded comes back)."""
        self.modified = False
        self.editing = False
        self.refresh_bindings()
        if self.opened is not None:
            self.text_area.load_text(self.opened.text)

    def action_save(self) -> None:
        """Save the edited text to the sandbox (checks it did not change there first)."""
        if self.opened is None or not self.editing:
            self.notify("Nothing is being edited (e edits the file shown).", severity="warning")
            return
        self.save()

    @work(exclusive=True, group="files.save", exit_on_error=False, description="Saving a file")
    async def save(
        self, *, force: bool = False, then_run: Callable[[], object] | None = None
    ) -> None:
        """Write the text; unless ``force``, first check the sandbox's copy is as loaded."""
        opened = self.opened
        if opened is None:
            return
        text = self.text_area.text
        if not force:
            try:
                remote = await self.client.files.read(self.sandbox_id, opened.path)
            except CagedError as error:
                if getattr(error, "status", None) != 404:
                    raise
                remote = ""  # deleted meanwhile: that is a change too, unless it was empty
            if remote != opened.text:
                self.post_message(self.Conflicted(opened.path, remote))
                return
        await self.client.files.write(self.sandbox_id, opened.path, text)
        self.post_message(self.Saved(opened.path, text))
        if then_run is not None:
            self.app.call_later(then_run)

    @on(Saved)
    def _saved(self, event: Saved) -> None:
        if self.opened is None or event.path != self.opened.path:
            return
        self.opened = Opened(event.path, event.text)
        self.modified = self.text_area.text != event.text
        self.notify(f"Saved {printable(event.path)}")

    @on(Conflicted)
    def _conflicted(self, event: Conflicted) -> None:
        def answered(choice: str | None) -> None:
            if choice == "reload":
                # Read again as any file is: the sandbox's new copy may no longer be text.
                self.editing = False
                self.reload()
            elif choice == "overwrite":
                self.save(force=True)
            elif choice == "diff":
                self._show_diff(event)

        self.app.push_screen(
            ChoiceDialog(
                "Changed in the sandbox",
                f"{printable(event.path)} changed in the sandbox since you opened it. "
                "Reload it (your changes are lost), overwrite it with yours, or see the diff.",
                [
                    Choice("reload", "Reload", "r"),
                    Choice("overwrite", "Overwrite", "o", "error"),
                    Choice("diff", "Diff", "d", "primary"),
                    Choice("cancel", "Cancel", "c"),
                ],
            ),
            callback=answered,
        )

    def _show_diff(self, event: Conflicted) -> None:
        lines = difflib.unified_diff(
            event.remote.splitlines(keepends=True),
            self.text_area.text.splitlines(keepends=True),
            fromfile=f"{event.path} (in the sandbox)",
            tofile=f"{event.path} (yours)",
        )

        def closed(_: None) -> None:
            # Back to the choice: the diff was only a look before deciding.
            self._conflicted(event)

        # The sandbox's copy may hold anything: its lines are shown escaped.
        shown = "\n".join(controls_escaped(line.rstrip("\n")) for line in lines)
        self.app.push_screen(
            TextView(f"{printable(event.path)}: sandbox → yours", shown or "(no difference)"),
            callback=closed,
        )
