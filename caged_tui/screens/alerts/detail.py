"""One alert in full: its fields and meta, with links to its sandbox and session.

``o`` opens the sandbox's detail screen; ``e`` opens the session's replay (the
replay screen of the registry when there is one, otherwise the sandbox) with the
playhead on the triggering event: the session's last event recorded by the time
the alert was raised (the alert does not name its event; this is the one that
tipped a budget or a score). An alert about a sandbox but no session (a budget
crossing) links to that sandbox's newest session, looked up on opening. ``R``
resolves it. Everything from the platform is painted escaped.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static
from textual.worker import Worker

from caged_core.client import AsyncCaged
from caged_core.errors import CagedNotFoundError
from caged_core.models import AgentSession, Alert, AlertState
from caged_tui import formatting as fmt
from caged_tui import registry
from caged_tui.protocol import HostAccess
from caged_tui.safe_text import printable


def alert_fields(alert: Alert, session_id: str, now: Any) -> Table:
    """The grid of an alert's fields (``session_id``: its own or the one linked)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    linked = session_id if session_id == alert.session_id else f"{session_id} (newest of sandbox)"
    rows = [
        ("severity", alert.severity.value),
        ("state", alert.state.value),
        ("rule", alert.rule_type or fmt.DASH),
        ("title", alert.title or fmt.DASH),
        ("message", alert.message or fmt.DASH),
        ("sandbox", alert.sandbox_id or fmt.DASH),
        ("session", linked if session_id else fmt.DASH),
        ("raised", f"{fmt.timestamp(alert.created_at)} ({fmt.since(alert.created_at, now)} ago)"),
        ("resolved", fmt.timestamp(alert.resolved_at)),
        ("id", alert.id),
    ]
    for name, value in rows:
        grid.add_row(name, Text(printable(value)))
    for key, value in sorted(alert.meta.items()):
        grid.add_row(Text(printable(key), style="dim"), Text(printable(value)))
    return grid


#: How long the replay screen gets to load before the playhead is left where it opened.
SEEK_PATIENCE = 10.0


@runtime_checkable
class Seekable(Protocol):
    """A replay screen whose playhead can be put on an event."""

    playhead: int

    def seek(self, sequence: int) -> None:
        """Put the playhead on event ``sequence``."""


async def _seek_trigger(
    client: AsyncCaged, replay: Seekable, session_id: str, raised: datetime
) -> None:
    """Put the replay's playhead on the session's last event recorded by ``raised``."""
    sequence = 0
    async for event in client.sessions.replay(session_id, limit=1000):
        if event.timestamp is not None and event.timestamp > raised:
            break
        sequence = event.sequence
    if not sequence:
        return
    # The screen takes the seek once it knows the session's length (its first page).
    deadline = asyncio.get_running_loop().time() + SEEK_PATIENCE
    while replay.playhead != sequence and asyncio.get_running_loop().time() < deadline:
        replay.seek(sequence)
        await asyncio.sleep(0.05)


def _newest(sessions: list[AgentSession]) -> AgentSession | None:
    dated = [s for s in sessions if s.started_at is not None]
    return max(dated, key=lambda s: s.started_at or 0, default=None) if dated else None


class AlertDetailScreen(HostAccess, ModalScreen[bool]):
    """An alert's details; dismissed with True when it was resolved here."""

    DEFAULT_CSS = """
    AlertDetailScreen { align: center middle; background: $background 60%; }
    AlertDetailScreen > Vertical {
        width: 96; max-width: 95%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    AlertDetailScreen.-critical > Vertical { border: thick $error; }
    AlertDetailScreen.-warning > Vertical { border: thick $warning; }
    AlertDetailScreen #alert-detail-title { text-style: bold; margin-bottom: 1; }
    AlertDetailScreen VerticalScroll { height: auto; max-height: 24; }
    AlertDetailScreen #alert-detail-links { color: $text-muted; margin-top: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="alert.close"),
        Binding("o", "open_sandbox", "Open sandbox", id="alert.sandbox"),
        Binding("e", "open_session", "Session replay", id="alert.session"),
        Binding("R", "resolve", "Resolve", id="alert.resolve"),
    ]

    def __init__(self, alert: Alert) -> None:
        super().__init__()
        self.alert = alert
        self.session_id = alert.session_id
        self._resolved = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                printable(self.alert.title or self.alert.rule_type), id="alert-detail-title"
            )
            with VerticalScroll():
                yield Static(id="alert-detail-fields")
            yield Static(id="alert-detail-links")

    def on_mount(self) -> None:
        self.set_class(True, f"-{self.alert.severity.value}")
        self._show()
        if not self.session_id and self.alert.sandbox_id:
            self._find_session()

    def _show(self) -> None:
        fields = alert_fields(self.alert, self.session_id, self.now())
        self.query_one("#alert-detail-fields", Static).update(fields)
        links = []
        if self.alert.sandbox_id:
            links.append("o  open the sandbox")
        if self.session_id:
            links.append("e  open the session")
        if self.alert.state == AlertState.OPEN and not self._resolved:
            links.append("R  resolve")
        links.append("esc  close")
        self.query_one("#alert-detail-links", Static).update("   ".join(links))

    @work(group="alert.session", exit_on_error=False, description="Finding the session")
    async def _find_session(self) -> None:
        try:
            sessions = await self.client.sessions.list_by_sandbox(self.alert.sandbox_id)
        except CagedNotFoundError:
            return  # the sandbox is gone: the alert still reads fine without a session link
        newest = _newest(list(sessions))
        if newest is not None:
            self.session_id = newest.id
            self._show()

    @staticmethod
    def _replay_entry() -> registry.ScreenEntry | None:
        return next((entry for entry in registry.SCREENS if entry.id == "replay"), None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failures go to the app's central handler (a toast with the server's reason)."""
        self.caged.report_worker_failure(event.worker)

    # ------------------------------------------------------------------ actions

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(self._resolved)

    def _leave_for(self, screen: Screen[Any]) -> None:
        self.dismiss(self._resolved)
        self.app.push_screen(screen)

    def action_open_sandbox(self) -> None:
        """Open the alert's sandbox."""
        if not self.alert.sandbox_id:
            self.notify("This alert is about no sandbox.", severity="warning")
            return
        from caged_tui.screens.detail.screen import SandboxDetailScreen

        self._leave_for(SandboxDetailScreen(self.alert.sandbox_id))

    def action_open_session(self) -> None:
        """Open the session's replay (or, without a replay screen, its sandbox)."""
        if not self.session_id:
            self.notify("This alert has no session.", severity="warning")
            return
        entry = self._replay_entry()
        if entry is None:
            self.action_open_sandbox()
            return
        replay = entry.load()(self.session_id)
        self._leave_for(replay)
        if isinstance(replay, Seekable) and self.alert.created_at is not None:
            self.app.run_worker(
                _seek_trigger(self.client, replay, self.session_id, self.alert.created_at),
                group="alert.seek",
                exit_on_error=False,
                description="Finding the triggering event",
            )

    def action_resolve(self) -> None:
        """Resolve the alert."""
        if self.alert.state != AlertState.OPEN or self._resolved:
            self.notify("This alert is not open.", severity="warning")
            return
        self._resolve()

    @work(group="alert.resolve", exit_on_error=False, description="Resolving the alert")
    async def _resolve(self) -> None:
        await self.client.alerts.resolve(self.alert.id)
        self._resolved = True
        self.alert = self.alert.model_copy(update={"state": AlertState.RESOLVED})
        self.notify("Resolved the alert")
        self.caged.live.poke()
        self._show()
