"""What every full screen shares: header, isolation banner, ``:`` prompt, footer.

Also the one place worker failures leave a screen: :meth:`CagedScreen.on_worker_state_changed`
hands every failed worker to the app's central handler, so no screen shows a
traceback and every failure gets the same treatment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.worker import Worker

from caged_tui import registry
from caged_tui.protocol import HostAccess
from caged_tui.status import PlatformStatus
from caged_tui.widgets.command_line import CommandLine
from caged_tui.widgets.header import CagedHeader, IsolationBanner
from caged_tui.widgets.key_bar import KeyBar

if TYPE_CHECKING:
    from caged_tui.protocol import TitledPart


ResultT = TypeVar("ResultT")


class CagedScreen(HostAccess, Screen[ResultT]):
    """Base of the app's full screens. Subclasses implement :meth:`compose_body`."""

    #: Shown in the header and used by the help screen and the palette.
    SCREEN_TITLE: ClassVar[str] = ""
    #: Widgets of this screen whose own bindings the palette offers too (the
    #: detail screen's panels), each with a title saying where they act.
    PARTS: ClassVar[tuple[type[TitledPart], ...]] = ()

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            ":", "command_line", "Go to…", key_display=":", show=False, id="screen.command_line"
        ),
    ]

    def compose(self) -> ComposeResult:
        yield CagedHeader()
        yield IsolationBanner()
        yield from self.compose_body()
        yield KeyBar()
        # After the key bar, both docked at the bottom: open, the prompt covers the keys
        # (as vim's does); before it, the key bar hid what was typed.
        yield CommandLine(entry.command for entry in registry.destinations())

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the header and the footer."""
        yield from ()

    def on_mount(self) -> None:
        header = self.query_one(CagedHeader)
        header.screen_title = self.SCREEN_TITLE
        header.profile_label = self.caged.settings.profile_label
        header.local = self.caged.settings.local
        self.watch(self.app, "status", self._status_changed)
        self.watch(self.app, "settings", self._settings_changed, init=False)

    def _status_changed(self, status: PlatformStatus) -> None:
        self.query_one(CagedHeader).status = status
        self.query_one(IsolationBanner).unisolated = status.unisolated

    def _settings_changed(self) -> None:
        header = self.query_one(CagedHeader)
        header.profile_label = self.caged.settings.profile_label
        header.local = self.caged.settings.local

    @property
    def context_sandbox_id(self) -> str | None:
        """The sandbox this screen is about or has selected (None: none), which
        ``:files``, ``:diff`` and the like open for."""
        return None

    def action_open_for_sandbox(self, entry_id: str) -> None:
        """Open the screen ``entry_id`` of the registry for :attr:`context_sandbox_id`."""
        entry = registry.by_id(entry_id)
        sandbox_id = self.context_sandbox_id
        if sandbox_id is None:
            self.notify(
                f"Select a sandbox first: {entry.title.lower()} opens for the sandbox "
                "under the cursor or on screen.",
                severity="warning",
            )
            return
        self.app.push_screen(entry.load()(sandbox_id))

    def action_command_line(self) -> None:
        """Open the ``:`` prompt."""
        self.query_one(CommandLine).open()

    @on(CommandLine.Entered)
    def _command_entered(self, event: CommandLine.Entered) -> None:
        self.caged.go(event.command)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Hand failed workers to the app's central error handler."""
        self.caged.report_worker_failure(event.worker)
