"""The Sessions panel: the sandbox's agent sessions (``enter`` replays one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from caged_core.models import AgentSession
from caged_tui.screens.detail.panel import DetailPanel
from caged_tui.screens.sessions import open_replay
from caged_tui.widgets.session_table import SessionTable, session_source

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged
    from caged_tui.widgets.virtual_table import ListSource


class SessionsPanel(DetailPanel):
    """The sandbox's sessions; polled (through the live feed) only while in front."""

    PANEL_ID = "sessions"
    TITLE = "Sessions"
    FOCUS = "#detail-sessions-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "replay", "Replay", id="detail.sessions.replay"),
    ]

    _source: ListSource[AgentSession]

    @dataclass
    class Loaded(Message):
        """The sandbox's sessions, newest first."""

        sessions: list[AgentSession]

    def compose(self) -> ComposeResult:
        self._source = session_source(self.caged.now())
        yield SessionTable(self._source, id="detail-sessions-table")
        yield Static(id="detail-sessions-info")

    def on_mount(self) -> None:
        async def get(client: AsyncCaged) -> list[AgentSession]:
            return list(await client.sessions.list_by_sandbox(self.sandbox_id))

        self.follow("sessions", get, self.Loaded)

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._source.retime(self.caged.now(), ())
        self.query_one(SessionTable).source_changed(self._source.update(event.sessions))
        info = self.query_one("#detail-sessions-info", Static)
        info.update(
            "enter: replay the session under the cursor"
            if event.sessions
            else "No sessions yet: a terminal, an MCP client, exec or an agent's events start one."
        )

    def action_replay(self) -> None:
        """Replay the session under the cursor."""
        key = self.query_one(SessionTable).cursor_key
        if key is None:
            self.notify("No session selected.", severity="warning")
            return
        open_replay(self, key)
