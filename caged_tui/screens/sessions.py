"""The sessions screen (``:sessions``): every agent session of the account, live.

The list comes from the live feed (topic :data:`SESSIONS`, every page of
``GET /sessions``); filter (``/``) and order (``S``, ``O``) work as on the
sandboxes screen, and ``enter`` opens the session's replay.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.widgets import Input, Static

from caged_core.client import AsyncCaged
from caged_core.models import AgentSession, SessionStatus
from caged_tui.live import Fetched, TopicSpec
from caged_tui.screens.list_screen import ListScreen
from caged_tui.widgets.session_table import (
    SORTABLE,
    SessionTable,
    session_matches,
    session_source,
)


async def _all_sessions(client: AsyncCaged, etag: str | None) -> Fetched[list[AgentSession]]:
    return Fetched([session async for session in client.sessions.list(per_page=100)])


#: Every session of the account, newest first.
SESSIONS: TopicSpec[list[AgentSession]] = TopicSpec("sessions", _all_sessions)


def open_replay(node: DOMNode, session_id: str) -> None:
    """Push the replay screen of ``session_id`` (from the list or a sandbox's panel)."""
    from caged_tui.screens.replay import ReplayScreen

    node.app.push_screen(ReplayScreen(session_id))


class SessionsScreen(ListScreen):
    """Agent sessions in a live table: what agents did, at what cost and trust."""

    SCREEN_TITLE = "Sessions"
    CSS_PATH = "sessions.tcss"
    AUTO_FOCUS = "#sessions-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "replay", "Replay", id="sessions.replay"),
        Binding("slash", "filter", "Filter", key_display="/", id="sessions.filter"),
        Binding("S", "sort", "Sort column", show=False, id="sessions.sort"),
        Binding("O", "reverse", "Reverse order", show=False, id="sessions.reverse"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="sessions.refresh"),
        Binding("escape", "clear", "Clear filter", show=False, id="sessions.clear"),
    ]

    FILTER_ID = "sessions-filter"
    SORT_LABELS = tuple(col.label for col in SORTABLE)

    loaded: reactive[bool] = reactive(False, init=False)

    def __init__(self) -> None:
        super().__init__()
        self._source = session_source(self.now())

    def compose_body(self) -> ComposeResult:
        with Vertical(id="sessions-body"):
            yield Input(
                placeholder="filter by id, agent, model, status, sandbox", id="sessions-filter"
            )
            yield Static(id="sessions-info")
            yield SessionTable(self._source, id="sessions-table")

    def on_mount(self) -> None:
        super().on_mount()
        self._render_info()
        self.caged.live.subscribe(self, SESSIONS, self._loaded)

    @property
    def state(self) -> str:
        """``loading`` until the first list arrived, then ``ready`` (the snapshots wait on it)."""
        return "ready" if self.loaded else "loading"

    @property
    def table(self) -> SessionTable:
        """The list widget."""
        return self.query_one(SessionTable)

    def _loaded(self, sessions: list[AgentSession]) -> None:
        self._source.retime(self.now(), ())
        self.table.source_changed(self._source.update(sessions))
        self.loaded = True
        self._render_info()

    def apply_view(self) -> None:
        query = self.filter_text
        sort_key = SORTABLE[self.sort_index].sort_key if self.sort_index >= 0 else None
        self._source.view(
            filter=(lambda s: session_matches(s, query)) if query.strip() else None,
            sort=sort_key,
            reverse=self.sort_reverse,
        )
        self.table.source_changed()
        self._render_info()

    def _render_info(self) -> None:
        items = self._source.items
        live = sum(1 for s in items if s.status == SessionStatus.ACTIVE)
        parts = [f"{len(items)} session{'' if len(items) == 1 else 's'}, {live} live"]
        if not self.loaded:
            parts = ["Loading sessions…"]
        elif not items:
            parts = ["No agent sessions yet: they start when an agent or a terminal connects."]
        parts += self.view_parts(self._source.row_count)
        parts.append("enter: replay")
        self.query_one("#sessions-info", Static).update(" · ".join(parts))

    # ------------------------------------------------------------------ actions

    def action_replay(self) -> None:
        """Replay the session under the cursor."""
        key = self.table.cursor_key
        if key is None:
            self.notify("No session selected.", severity="warning")
            return
        open_replay(self, key)

    def action_refresh(self) -> None:
        """Reload the list now."""
        self.caged.live.poke()

    def action_clear(self) -> None:
        """Clear the filter."""
        self.clear_filter()
