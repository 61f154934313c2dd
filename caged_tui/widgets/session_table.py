"""The sessions table: a :class:`VirtualTable` over a :class:`ListSource` of agent sessions.

What a session looks like in a row (columns, the live marker, trust colours by
band, sort keys) lives here, shared by the sessions screen and the Sessions
panel of a sandbox's detail; each decides what is shown (filter, order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from caged_core.models import AgentSession, SessionStatus
from caged_tui import formatting as fmt
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable


@dataclass(frozen=True, slots=True)
class SessionColumn:
    """One column: the table column, how a session renders into it, how it sorts."""

    column: Column
    render: Callable[[AgentSession, datetime], str]
    sort_key: Callable[[AgentSession], str | float] | None = None

    @property
    def label(self) -> str:
        """The header label."""
        return self.column.label


def _started(session: AgentSession) -> float:
    return session.started_at.timestamp() if session.started_at else 0.0


def status_text(session: AgentSession) -> str:
    """The status, with active sessions marked live."""
    if session.status == SessionStatus.ACTIVE:
        return "● live"
    return session.status.value


def session_duration(session: AgentSession, now: datetime) -> str:
    """How long the session ran (an active one: so far)."""
    if session.duration_ms is not None:
        return fmt.duration(session.duration_ms / 1000)
    return fmt.since(session.started_at, now)


def _trust(session: AgentSession) -> str:
    return fmt.DASH if session.trust_score is None else str(session.trust_score)


COLUMNS: tuple[SessionColumn, ...] = (
    SessionColumn(Column("id", "SESSION", 12), lambda s, _: s.id, lambda s: s.id),
    SessionColumn(
        Column("agent", "AGENT", 8),
        lambda s, _: s.agent_type or fmt.DASH,
        lambda s: s.agent_type or "",
    ),
    SessionColumn(
        Column("model", "MODEL", 8), lambda s, _: s.model or fmt.DASH, lambda s: s.model or ""
    ),
    SessionColumn(Column("status", "STATUS", 9), lambda s, _: status_text(s), lambda s: s.status),
    SessionColumn(
        Column("started", "STARTED", 7),
        lambda s, now: fmt.since(s.started_at, now) + " ago",
        lambda s: -_started(s),
    ),
    SessionColumn(
        Column("duration", "DURATION", 8), session_duration, lambda s: s.duration_ms or 0.0
    ),
    SessionColumn(
        Column("tokens", "TOKENS IN/OUT", 13),
        lambda s, _: f"{fmt.tokens(s.tokens_in)}/{fmt.tokens(s.tokens_out)}",
        lambda s: s.tokens_in + s.tokens_out,
    ),
    SessionColumn(Column("llm", "LLM", 6), lambda s, _: fmt.money(s.llm_cost)),
    SessionColumn(Column("compute", "COMPUTE", 7), lambda s, _: fmt.money(s.compute_cost)),
    SessionColumn(
        Column("total", "TOTAL", 6), lambda s, _: fmt.money(s.total_cost), lambda s: s.total_cost
    ),
    SessionColumn(
        Column("trust", "TRUST", 5),
        lambda s, _: _trust(s),
        lambda s: -1 if s.trust_score is None else s.trust_score,
    ),
    SessionColumn(
        Column("events", "EVENTS", 6), lambda s, _: str(s.event_count), lambda s: s.event_count
    ),
)

#: Columns that ``S`` cycles through, in order.
SORTABLE: tuple[SessionColumn, ...] = tuple(col for col in COLUMNS if col.sort_key is not None)


def session_cells(session: AgentSession, now: datetime) -> tuple[Cell, ...]:
    """A session's row: the status marked live, the trust score coloured by its band."""
    cells: list[Cell] = []
    for col in COLUMNS:
        style = ""
        if col.column.key == "status":
            style = f"session-table--{session.status.value}"
        elif col.column.key == "trust" and session.trust_score is not None:
            style = f"session-table--{fmt.trust_band(session.trust_score)}"
        cells.append((col.render(session, now), style))
    return tuple(cells)


def session_source(now: datetime) -> ListSource[AgentSession]:
    """An empty source of sessions keyed by id, formatted at ``now``."""
    return ListSource(lambda s: s.id, session_cells, now)


def session_matches(session: AgentSession, query: str) -> bool:
    """Whether ``query`` (case-insensitive) occurs in the id, agent, model, status or sandbox."""
    needle = query.strip().lower()
    fields = (
        session.id,
        session.agent_type or "",
        session.model or "",
        session.status.value,
        session.sandbox_id,
    )
    return not needle or any(needle in field.lower() for field in fields)


class SessionTable(VirtualTable):
    """A list of agent sessions (its owner binds ``enter`` to replay the one under the
    cursor, so the action is in the palette)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "session-table--active",
        "session-table--completed",
        "session-table--failed",
        "session-table--excellent",
        "session-table--good",
        "session-table--caution",
        "session-table--alert",
    }

    DEFAULT_CSS = """
    SessionTable > .session-table--active { color: $success; text-style: bold; }
    SessionTable > .session-table--completed { color: $text-muted; }
    SessionTable > .session-table--failed { color: $error; }
    SessionTable > .session-table--excellent { color: $success; }
    SessionTable > .session-table--good { color: $primary; }
    SessionTable > .session-table--caution { color: $warning; }
    SessionTable > .session-table--alert { color: $error; text-style: bold; }
    """

    def __init__(self, source: ListSource[AgentSession], *, id: str | None = None) -> None:
        super().__init__([col.column for col in COLUMNS], source, id=id)
