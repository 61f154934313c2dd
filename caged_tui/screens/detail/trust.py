"""The trust panel: each agent session's score and the deductions behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Static

from caged_core.models import TrustScore
from caged_tui import formatting as fmt
from caged_tui.safe_text import printable
from caged_tui.screens.detail.panel import DetailPanel
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

COLUMNS = (
    Column("session", "SESSION", 20),
    Column("score", "SCORE", 5),
    Column("band", "BAND", 9),
    Column("updated", "UPDATED", 23),
    Column("deductions", "DEDUCTIONS", 10),
)


def score_cells(score: TrustScore, now: datetime) -> tuple[Cell, ...]:
    """A session's row."""
    return (
        (score.session_id, ""),
        (str(score.score), ""),
        (fmt.trust_band(score.score), ""),
        (fmt.timestamp(score.updated_at), ""),
        (str(len(score.deductions)), ""),
    )


class TrustPanel(DetailPanel):
    """Trust scores; polled (through the live feed) only while in front."""

    PANEL_ID = "trust"
    TITLE = "Trust"
    FOCUS = "#trust-table"

    _source: ListSource[TrustScore]

    @dataclass
    class Loaded(Message):
        """Trust scores of the sandbox's sessions."""

        scores: Sequence[TrustScore]

    def compose(self) -> ComposeResult:
        self._source = ListSource(lambda score: score.session_id, score_cells, self.caged.now())
        yield VirtualTable(COLUMNS, self._source, id="trust-table")
        yield Static(id="trust-deductions")

    def on_mount(self) -> None:
        self.follow(
            "trust", lambda client: client.sandboxes.trust_scores(self.sandbox_id), self.Loaded
        )
        self._render_deductions()

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self.query_one(VirtualTable).source_changed(self._source.update(event.scores))
        self._render_deductions()

    @on(VirtualTable.CursorMoved)
    def _render_deductions(self) -> None:
        body = self.query_one("#trust-deductions", Static)
        if not self._source.row_count:
            body.update("No agent sessions yet: trust is scored per session.")
            return
        key = self.query_one(VirtualTable).cursor_key
        score = self._source.get(key) if key is not None else None
        if score is None:
            return
        body.update(deductions_text(score))


def deductions_text(score: TrustScore) -> Text:
    """What the panel says of a session's deductions. A reason names what the agent touched
    (a file, a host) and a session id is the agent's: both are painted escaped."""
    session = printable(score.session_id)
    if not score.deductions:
        return Text(f"{session}: no deductions.")
    lines = Text(f"Deductions of {session}:\n", style="bold")
    for deduction in score.deductions:
        lines.append(f"  -{deduction.points:<3} {deduction.rule}: {printable(deduction.reason)}\n")
    return lines
