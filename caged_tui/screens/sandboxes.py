"""The home screen: every sandbox, live.

The list comes from the app's live feed (topic :data:`~caged_tui.live.SANDBOXES`):
this screen never polls. It keeps the sandboxes in a :class:`ListSource` that
the virtual table paints a screenful at a time; filter, order and marks are
reactives applied to the source. A clock re-formats the visible rows and
repaints those whose age, uptime or idle countdown changed — and it ticks only
when one of them shows another text: at the next second, minute or hour the
visible rows' times turn over (computed, not polled; a list, a scroll or a
resize re-arms it). While the user is idle (the live feed's ``user_idle``)
times show whole minutes (a key press brings the seconds back at once), so an
untouched list of young sandboxes repaints once a minute, and one of old or
stopped ones once an hour or never.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static

from caged_core.models import Sandbox, SandboxStatus
from caged_tui.live import SANDBOXES
from caged_tui.messages import SandboxChanged
from caged_tui.screens.list_screen import ListScreen
from caged_tui.status import Connection, PlatformStatus
from caged_tui.widgets.sandbox_table import SORTABLE, SandboxTable, sandbox_source, text_changes_in

#: The shortest wait between two ticks: rows formatted on the very moment a time turns
#: over (a frozen test clock, or chance) must not make the clock spin.
MIN_TICK = 1.0


class ListState(StrEnum):
    """What the body shows; each value is also a CSS class (``-ready`` …)."""

    LOADING = "loading"
    READY = "ready"
    EMPTY = "empty"
    UNREACHABLE = "unreachable"


def matches(sandbox: Sandbox, query: str) -> bool:
    """Whether ``query`` (case-insensitive) occurs in the id, template or status."""
    needle = query.strip().lower()
    haystack = (sandbox.id, sandbox.template, sandbox.status.value)
    return not needle or any(needle in field.lower() for field in haystack)


class SandboxesScreen(ListScreen):
    """All sandboxes in a live table, with bulk actions on marked rows."""

    SCREEN_TITLE = "Sandboxes"
    CSS_PATH = "sandboxes.tcss"
    AUTO_FOCUS = "#sandboxes-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new", "New", id="sandboxes.new"),
        Binding("t", "terminal", "Terminal", id="sandboxes.terminal"),
        Binding("x", "exec", "Exec", id="sandboxes.exec"),
        Binding("l", "logs", "Logs", show=False, id="sandboxes.logs"),
        Binding("f", "open_for_sandbox('files')", "Files", id="sandboxes.files"),
        Binding("D", "open_for_sandbox('diff')", "Git diff", show=False, id="sandboxes.diff"),
        Binding("s", "open_for_sandbox('snapshots')", "Snapshots", id="sandboxes.snapshots"),
        Binding("p", "pause_resume", "Pause/resume", id="sandboxes.pause_resume"),
        Binding("d", "destroy", "Destroy", id="sandboxes.destroy"),
        Binding("y", "copy_id", "Copy id", show=False, id="sandboxes.copy_id"),
        Binding("space", "mark", "Mark and move down", show=False, id="sandboxes.mark"),
        Binding("slash", "filter", "Filter", key_display="/", id="sandboxes.filter"),
        Binding("S", "sort", "Sort column", show=False, id="sandboxes.sort"),
        Binding("O", "reverse", "Reverse order", show=False, id="sandboxes.reverse"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="sandboxes.refresh"),
        Binding("escape", "clear", "Clear marks/filter", show=False, id="sandboxes.clear"),
    ]

    FILTER_ID = "sandboxes-filter"
    SORT_LABELS = tuple(col.label for col in SORTABLE)

    state: reactive[ListState] = reactive(ListState.LOADING, init=False)
    marked: reactive[frozenset[str]] = reactive(frozenset, init=False)

    def __init__(self) -> None:
        super().__init__()
        self._source = sandbox_source(self.now(), lambda: self.caged.live.user_idle)
        #: The clock's next tick: one timer, set for when a visible time next changes.
        self._tick: Timer | None = None
        #: Whether the clock was armed for whole minutes (the user idle).
        self._coarse = False
        #: Whether a scroll's re-arm of the clock is on its way.
        self._rearming = False

    def compose_body(self) -> ComposeResult:
        # Its state's class from the start: added on mount, it restyled the whole body.
        with Vertical(id="sandboxes-body", classes=f"-{self.state.value}"):
            yield Input(placeholder="filter by id, template or status", id="sandboxes-filter")
            yield Static(id="sandboxes-info")
            yield SandboxTable(self._source, id="sandboxes-table")
            yield Static(id="sandboxes-message")

    def on_mount(self) -> None:
        super().on_mount()
        self._render_message()
        self._render_info()
        self._set_clock()
        self.watch(self.app, "settings", self._profile_changed, init=False)
        self.watch(self.app, "app_focus", self._clock, init=False)
        self.watch(self.table, "scroll_y", self._scrolled, init=False)
        self.caged.live.subscribe(self, SANDBOXES, self._loaded)

    @property
    def _body(self) -> Vertical:
        return self.query_one("#sandboxes-body", Vertical)

    @property
    def table(self) -> SandboxTable:
        """The list widget."""
        return self.query_one(SandboxTable)

    # ------------------------------------------------------------------ loading

    def _status_changed(self, status: PlatformStatus) -> None:
        super()._status_changed(status)
        if status.connection is Connection.OFFLINE:
            self.state = ListState.UNREACHABLE
        elif self.state is ListState.UNREACHABLE and status.connection is Connection.ONLINE:
            self.state = ListState.READY if self._source.items else ListState.EMPTY

    def _profile_changed(self) -> None:
        self.marked = frozenset()
        self.state = ListState.LOADING
        self.table.source_changed(self._source.update([]))
        self._render_info()
        self._set_clock()

    def _loaded(self, sandboxes: list[Sandbox]) -> None:
        """A new list from the live feed: only changed visible rows repaint."""
        change = self._source.update(sandboxes)
        self.table.source_changed(change)
        self.marked = self.marked & {sb.id for sb in sandboxes}
        self.state = ListState.READY if sandboxes else ListState.EMPTY
        self._render_info()
        self._set_clock()

    def _set_clock(self) -> None:
        """Arm the clock for the moment a visible row's time next shows another text.

        Rows keep the text of the time they were formatted at (the source's ``now``)
        until then: a row scrolled in since is right as long as that moment has not
        passed, and when it has, the clock ticks at once."""
        if self._tick is not None:
            self._tick.stop()
            self._tick = None
        if not (self.is_current and self.caged.in_foreground):
            return  # a resume or the focus coming back ticks it
        self._coarse = coarse = self.caged.live.user_idle
        formatted_at = self._source.now
        waits = [
            wait
            for key in self.table.visible_keys()
            if (sandbox := self._source.get(key)) is not None
            and (wait := text_changes_in(sandbox, formatted_at, coarse)) is not None
        ]
        if not waits:
            return  # nothing on screen moves with the clock
        due = formatted_at + timedelta(seconds=max(min(waits), MIN_TICK))
        delay = (due - self.now()).total_seconds()
        if delay <= 0:
            # Overdue (rows formatted long ago): tick now. Not a timer of 0 s: Textual's
            # timer divides by its interval, and one already late is skipped.
            self.call_later(self._clock)
            return
        self._tick = self.set_timer(delay, self._clock, name="clock")

    def _clock(self) -> None:
        if self.is_current and self.caged.in_foreground:
            table = self.table
            table.refresh_keys(self._source.retime(self.now(), table.visible_keys()))
        self._set_clock()

    def _scrolled(self) -> None:
        # After the frame: a page-down's frame does not wait for the clock, and a burst
        # of scrolls re-arms it once.
        if not self._rearming:
            self._rearming = True
            self.call_after_refresh(self._rearm)

    def _rearm(self) -> None:
        self._rearming = False
        self._set_clock()

    def on_screen_resume(self) -> None:
        self._clock()

    def on_resize(self) -> None:
        self._set_clock()

    def on_key(self, event: events.Key) -> None:
        # The app marked the user active before this key came down: seconds show now,
        # not at the next whole minute.
        if self._coarse and not self.caged.live.user_idle:
            self._clock()

    @on(SandboxChanged)
    def _changed(self) -> None:
        self.caged.live.poke()

    # ------------------------------------------------------------------ rendering

    def watch_state(self, old: ListState, new: ListState) -> None:
        # On the body, not the screen: a class change restyles the subtree it is
        # on, and the screen's includes the header and the footer's many keys.
        self._body.set_classes(f"-{new.value}")
        self._render_message()

    def watch_marked(self, marked: frozenset[str]) -> None:
        self.table.set_marks(marked)
        self._render_info()

    def apply_view(self) -> None:
        query = self.filter_text
        sort_key = SORTABLE[self.sort_index].sort_key if self.sort_index >= 0 else None
        self._source.view(
            filter=(lambda sb: matches(sb, query)) if query.strip() else None,
            sort=sort_key,
            reverse=self.sort_reverse,
        )
        self.table.source_changed()
        self._render_info()
        self._set_clock()

    def shown_sandboxes(self) -> list[Sandbox]:
        """The sandboxes passing the filter, in the chosen order."""
        return self._source.shown()

    def _render_info(self) -> None:
        items = self._source.items
        total = len(items)
        running = sum(1 for sb in items if sb.status == SandboxStatus.RUNNING)
        parts = [f"{total} sandbox{'' if total == 1 else 'es'}, {running} running"]
        parts += self.view_parts(self._source.row_count)
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        info = self.query_one("#sandboxes-info", Static)
        text = " · ".join(parts)
        # Every live update lands here; an unchanged line must not cost a layout.
        if info.content != text:
            info.update(text)

    def _render_message(self) -> None:
        if not self.is_mounted:
            return
        status = self.caged.status
        messages = {
            ListState.LOADING: "Loading sandboxes…",
            ListState.EMPTY: "No sandboxes yet. Press n to create one.",
            ListState.READY: "",
            ListState.UNREACHABLE: (
                f"Cannot reach the platform ({self.caged.settings.profile_label}).\n"
                f"{status.reason}\nRetrying automatically — the list comes back by itself."
            ),
        }
        self.query_one("#sandboxes-message", Static).update(messages[self.state])

    # ------------------------------------------------------------------ selection

    @property
    def context_sandbox_id(self) -> str | None:
        """The sandbox under the cursor."""
        return self.table.cursor_key

    def _current(self) -> Sandbox | None:
        current = self.table.cursor_key
        return self._source.get(current) if current is not None else None

    def _targets(self) -> list[Sandbox]:
        """Marked sandboxes, or the one under the cursor when none is marked."""
        if self.marked:
            return [sb for sb in self._source.items if sb.id in self.marked]
        current = self._current()
        return [current] if current else []

    def _require_current(self) -> Sandbox | None:
        current = self._current()
        if current is None:
            self.notify("No sandbox selected.", severity="warning")
        return current

    # ------------------------------------------------------------------ actions

    def action_refresh(self) -> None:
        """Reload the list now."""
        self.caged.live.poke()

    def action_clear(self) -> None:
        """Clear the marks first, then the filter."""
        if self.marked:
            self.marked = frozenset()
            return
        self.clear_filter()

    def action_mark(self) -> None:
        """Mark or unmark the sandbox under the cursor for a bulk action."""
        current = self._require_current()
        if current is None:
            return
        self.marked = self.marked ^ {current.id}
        self.table.action_cursor_down()

    def action_copy_id(self) -> None:
        """Copy the sandbox id to the clipboard (OSC 52)."""
        if current := self._require_current():
            self.app.copy_to_clipboard(current.id)
            self.notify(f"Copied {current.id}")

    def action_new(self) -> None:
        """Open the create form."""
        from caged_tui.screens.create import CreateScreen

        self.app.push_screen(CreateScreen(), callback=self._created)

    def _created(self, sandbox_id: str | None) -> None:
        if sandbox_id is not None:
            self.caged.live.poke()

    def action_open(self, tab: str = "overview") -> None:
        """Open the sandbox's detail screen."""
        from caged_tui.screens.detail.screen import SandboxDetailScreen

        if current := self._require_current():
            self.app.push_screen(SandboxDetailScreen(current.id, tab=tab))

    def action_exec(self) -> None:
        """Run a command in the sandbox (the detail screen's exec tab)."""
        self.action_open("exec")

    def action_logs(self) -> None:
        """Show the sandbox's logs."""
        self.action_open("logs")

    def action_terminal(self) -> None:
        """Open a terminal into the sandbox, as a new tab of the terminals screen."""
        if current := self._require_current():
            self.caged.open_terminal(current.id)

    def action_pause_resume(self) -> None:
        """Pause running sandboxes and resume paused ones (marked, or the current)."""
        targets = [
            sb
            for sb in self._targets()
            if sb.status in (SandboxStatus.RUNNING, SandboxStatus.PAUSED)
        ]
        if not targets:
            self.notify(
                "Only running or paused sandboxes can be paused or resumed.", severity="warning"
            )
            return
        self.pause_resume(targets)

    @work(group="sandboxes.action", exit_on_error=False, description="Pause/resume")
    async def pause_resume(self, targets: list[Sandbox]) -> None:
        """Pause or resume each target, one after the other."""
        for sandbox in targets:
            if sandbox.status == SandboxStatus.RUNNING:
                await self.client.sandboxes.pause(sandbox.id)
                self.notify(f"Paused {sandbox.id}")
            else:
                await self.client.sandboxes.resume(sandbox.id)
                self.notify(f"Resumed {sandbox.id}")
            self.post_message(SandboxChanged(sandbox.id, "paused/resumed"))

    def action_destroy(self) -> None:
        """Destroy the marked sandboxes (or the current one) after confirmation."""
        targets = self._targets()
        if not targets:
            self.notify("No sandbox selected.", severity="warning")
            return
        # Imported here: the dialogs (and their buttons) are not on the first frame's path.
        from caged_tui.widgets.dialogs import ConfirmDialog

        names = ", ".join(sb.id for sb in targets)
        noun = "sandbox" if len(targets) == 1 else f"{len(targets)} sandboxes"
        dialog = ConfirmDialog(
            f"Destroy {noun}?",
            f"{names}\n\nThis deletes the sandbox and its files. It cannot be undone.",
        )

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.destroy_sandboxes(targets)

        self.app.push_screen(dialog, callback=confirmed)

    @work(group="sandboxes.action", exit_on_error=False, description="Destroy")
    async def destroy_sandboxes(self, targets: list[Sandbox]) -> None:
        """Destroy each target."""
        for sandbox in targets:
            await self.client.sandboxes.destroy(sandbox.id)
            self.notify(f"Destroyed {sandbox.id}")
            self.post_message(SandboxChanged(sandbox.id, "destroyed"))
        self.marked = self.marked - {sb.id for sb in targets}
