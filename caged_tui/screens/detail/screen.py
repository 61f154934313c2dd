"""The sandbox detail screen: one sandbox, its panels as tabs.

The screen keeps what concerns the sandbox as a whole — its title and status,
pause/resume, destroy, a terminal, copying its id — and stacks the panels
(:data:`PANELS`: overview, logs, ports, trust, sessions, exec), each a module of its own
owning its live-feed subscription, messages, keys and rendering. Number keys
``1`` to ``6`` (and ``l``, ``x``) choose a tab and put the focus in it, so its
keys work at once; ``:`` still jumps to other screens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static, TabbedContent

from caged_core.models import Sandbox, SandboxStatus
from caged_tui.screens.base import CagedScreen
from caged_tui.screens.detail.exec import ExecPanel
from caged_tui.screens.detail.logs import LogsPanel
from caged_tui.screens.detail.overview import OverviewPanel
from caged_tui.screens.detail.panel import DetailPanel, Gone, subscribe_to_sandbox
from caged_tui.screens.detail.ports import PortsPanel
from caged_tui.screens.detail.sessions import SessionsPanel
from caged_tui.screens.detail.trust import TrustPanel
from caged_tui.widgets.dialogs import ConfirmDialog

#: The panels, in tab order; tab ``n`` is on key ``n``.
PANELS: tuple[type[DetailPanel], ...] = (
    OverviewPanel,
    LogsPanel,
    PortsPanel,
    TrustPanel,
    SessionsPanel,
    ExecPanel,  # last: its prompt takes digits, so no tab key comes after it
)
TABS = tuple(panel.PANEL_ID for panel in PANELS)


class SandboxDetailScreen(CagedScreen[None]):
    """Everything about one sandbox."""

    SCREEN_TITLE = "Sandbox"
    CSS_PATH = "detail.tcss"
    AUTO_FOCUS = None

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="detail.back"),
        *(
            Binding(
                str(number),
                f"tab({panel.PANEL_ID!r})",
                panel.TITLE,
                show=False,
                id=f"detail.tab_{panel.PANEL_ID}",
            )
            for number, panel in enumerate(PANELS, start=1)
        ),
        Binding("l", "tab('logs')", "Logs", id="detail.logs"),
        Binding("x", "tab('exec')", "Exec", id="detail.exec"),
        Binding("t", "terminal", "Terminal", id="detail.terminal"),
        Binding("f", "open_for_sandbox('files')", "Files", id="detail.files"),
        Binding("D", "open_for_sandbox('diff')", "Git diff", show=False, id="detail.diff"),
        Binding("s", "open_for_sandbox('snapshots')", "Snapshots", id="detail.snapshots"),
        Binding("p", "pause_resume", "Pause/resume", id="detail.pause_resume"),
        Binding("d", "destroy", "Destroy", id="detail.destroy"),
        Binding("y", "copy", "Copy id", id="detail.copy"),
        Binding("r,ctrl+r", "refresh", "Refresh", id="detail.refresh"),
    ]

    PARTS = PANELS

    sandbox: reactive[Sandbox | None] = reactive(None, init=False)

    @dataclass
    class Loaded(Message):
        """The sandbox's current state."""

        sandbox: Sandbox

    @dataclass
    class Vanished(Message):
        """The sandbox no longer exists."""

        sandbox_id: str

    def __init__(self, sandbox_id: str, *, tab: str = "overview") -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self._initial_tab = tab if tab in TABS else "overview"

    def compose_body(self) -> ComposeResult:
        yield Static(self.sandbox_id, id="detail-title")
        with TabbedContent(initial=self._initial_tab, id="detail-tabs"):
            for panel in PANELS:
                yield panel(self.sandbox_id)

    def on_mount(self) -> None:
        super().on_mount()
        subscribe_to_sandbox(self.caged.live, self, self.sandbox_id, self._fetched)
        self.call_after_refresh(self.panel(self._initial_tab).focus_panel)

    @property
    def context_sandbox_id(self) -> str:
        """This sandbox (``:files`` and the like open for it)."""
        return self.sandbox_id

    @property
    def active_tab(self) -> str:
        """The id of the tab in front."""
        return self.query_one(TabbedContent).active

    def panel(self, panel_id: str) -> DetailPanel:
        """The panel of the tab ``panel_id``."""
        return self.query_one(f"#{panel_id}", DetailPanel)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        # The panel in front starts polling now rather than at the next round.
        self.caged.live.poke()
        self.refresh_bindings()

    def _fetched(self, value: Sandbox | Gone) -> None:
        self.post_message(
            self.Vanished(value.sandbox_id) if isinstance(value, Gone) else self.Loaded(value)
        )

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.sandbox = event.sandbox

    @on(Vanished)
    def _vanished(self) -> None:
        self.add_class("-gone")
        self.query_one("#detail-title", Static).update(f"{self.sandbox_id} — no longer exists")

    def watch_sandbox(self, sandbox: Sandbox | None) -> None:
        if sandbox is None:
            return
        for status in ("running", "paused", "pending", "stopped", "error"):
            self.set_class(sandbox.status.value == status, f"-{status}")
        title = f"{sandbox.id} · {sandbox.status.value} · {sandbox.template}"
        self.query_one("#detail-title", Static).update(title)

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab: str) -> None:
        """Show one of the tabs and give it the focus (its keys work at once)."""
        self.panel(tab).reveal()

    def action_back(self) -> None:
        """Back to where the sandbox was opened from."""
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Reload the sandbox and the tab in front now."""
        self.caged.live.poke()

    def action_terminal(self) -> None:
        """Open a terminal into this sandbox."""
        self.caged.open_terminal(self.sandbox_id)

    def action_copy(self) -> None:
        """Copy the sandbox id (OSC 52)."""
        self.app.copy_to_clipboard(self.sandbox_id)
        self.notify(f"Copied {self.sandbox_id}")

    def action_pause_resume(self) -> None:
        """Pause when running, resume when paused."""
        if self.sandbox is None:
            return
        if self.sandbox.status not in (SandboxStatus.RUNNING, SandboxStatus.PAUSED):
            self.notify(
                f"{self.sandbox_id} is {self.sandbox.status.value}: nothing to do.",
                severity="warning",
            )
            return
        self.pause_resume(self.sandbox.status == SandboxStatus.RUNNING)

    @work(group="detail.action", exit_on_error=False, description="Pause/resume")
    async def pause_resume(self, pause: bool) -> None:
        """Pause or resume the sandbox."""
        if pause:
            await self.client.sandboxes.pause(self.sandbox_id)
        else:
            await self.client.sandboxes.resume(self.sandbox_id)
        self.notify(f"{'Paused' if pause else 'Resumed'} {self.sandbox_id}")
        self.caged.live.poke()

    def action_destroy(self) -> None:
        """Destroy the sandbox after confirmation (Cancel is the default)."""
        dialog = ConfirmDialog(
            "Destroy sandbox?",
            f"{self.sandbox_id}\n\nThis deletes the sandbox and its files. It cannot be undone.",
        )

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.destroy_sandbox()

        self.app.push_screen(dialog, callback=confirmed)

    @work(group="detail.action", exit_on_error=False, description="Destroy")
    async def destroy_sandbox(self) -> None:
        """Destroy the sandbox and go back to the list."""
        await self.client.sandboxes.destroy(self.sandbox_id)
        self.notify(f"Destroyed {self.sandbox_id}")
        self.app.pop_screen()
