"""Agent sessions and the one write path for events.

A session is one agent's interaction with a sandbox. It starts when an agent
connects (a terminal or MCP socket: :func:`open_session`) or with the first
ingested event naming a new ``session_id``; it ends on disconnect, on the
sandbox's idle timeout, or when the sandbox is killed (``failed``).

Everything a session reports is derived from its events as they are written:
:func:`append_events` allocates each event's per-session ``sequence``, adds
``llm_call`` tokens and cost (:mod:`.pricing`), applies the trust rules
(:mod:`.trust`) and stores each deduction with the event that caused it — all
in the same transaction as the events, so the aggregates never disagree with
the events. Functions taking a ``sqlite3.Connection`` run on the database
thread (see :mod:`.store`).

Nothing in the dark: activity in a sandbox outside any agent session (an API
``exec``, a file changed in the workspace, an ingested event naming no session)
goes to an implicit **manual** session (``agent_type`` and origin ``manual``;
the sandbox's own lifecycle events join a session but never open one):
the sandbox's newest active session takes it if there is one; otherwise the
sandbox's open manual session, unless that has been idle for
:data:`MANUAL_IDLE_SECONDS` — then it is ended (completed, "idle") and a new one
starts. So a burst of API calls separated from the next by a quiet spell is one
session. A terminal connection is a session of its own (``manual`` unless the
client names its agent).

Compute cost: a session's share of its sandbox's running time is the compute
cost the sandbox accrued while the session was open (the sandbox's compute
cost now, or at the session's end, minus what it was when the session began).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from caged_core.models import AgentSession, ReplayEvent, SessionStatus

from . import trust
from .event_json import event_json, json_quote
from .events import NewEvent, encode_payload, from_us, new_id
from .pricing import llm_usage
from .store import transaction

__all__ = [
    "MANUAL",
    "MANUAL_IDLE_SECONDS",
    "AppendResult",
    "SessionRow",
    "Stored",
    "append_events",
    "completed_costs",
    "create_session",
    "end_session",
    "get_session",
    "get_session_any",
    "list_sessions",
    "mark_auto_paused",
    "sandbox_llm_costs",
    "sessions_to_end",
]


#: The origin and agent type of implicit sessions (see the module docstring).
MANUAL = "manual"
#: A manual session idle this long is over: the next activity starts another.
MANUAL_IDLE_SECONDS = 300.0


# Each event with its replay JSON (:mod:`.event_json`), written as it is stored; an event
# outside any session is never replayed, so it has none.
_INSERT_EVENT = (
    "INSERT INTO events (id, account_id, session_id, sequence, sandbox_id, type, ts,"
    " received_at, duration_ms, process_id, meta, data, json)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


@dataclass(slots=True)
class SessionRow:
    """A ``sessions`` row, mutable while a batch is being applied to it."""

    id: str
    account_id: str
    sandbox_id: str
    status: str
    origin: str
    agent_type: str | None
    client: str | None
    model: str | None
    tokens_in: int
    tokens_out: int
    llm_cost: float
    compute_base: float | None
    compute_cost: float
    trust_score: int
    trust_state: trust.TrustState
    event_count: int
    last_seq: int
    started_at: int
    last_activity: int
    first_ts: int | None
    last_ts: int
    ended_at: int | None
    end_reason: str | None
    auto_paused: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> SessionRow:
        return cls(
            id=row["id"],
            account_id=row["account_id"],
            sandbox_id=row["sandbox_id"],
            status=row["status"],
            origin=row["origin"],
            agent_type=row["agent_type"],
            client=row["client"],
            model=row["model"],
            tokens_in=row["tokens_in"],
            tokens_out=row["tokens_out"],
            llm_cost=row["llm_cost"],
            compute_base=row["compute_base"],
            compute_cost=row["compute_cost"],
            trust_score=row["trust_score"],
            trust_state=trust.TrustState.from_json(json.loads(row["trust_state"])),
            event_count=row["event_count"],
            last_seq=row["last_seq"],
            started_at=row["started_at"],
            last_activity=row["last_activity"],
            first_ts=row["first_ts"],
            last_ts=row["last_ts"],
            ended_at=row["ended_at"],
            end_reason=row["end_reason"],
            auto_paused=bool(row["auto_paused"]),
        )

    def compute_share(self, sandbox_compute_now: float | None) -> float:
        """Compute cost accrued while this session was open (see the module docstring)."""
        if self.status != SessionStatus.ACTIVE.value:
            return self.compute_cost
        if self.compute_base is None or sandbox_compute_now is None:
            return self.compute_cost
        return max(0.0, sandbox_compute_now - self.compute_base)

    def to_model(self, sandbox_compute_now: float | None, now_us: int) -> AgentSession:
        """The wire model; ``sandbox_compute_now`` prices an active session's compute."""
        compute = self.compute_share(sandbox_compute_now)
        if self.origin == "ingest":
            # Ingested events carry the agent's clock: measure the session by it too.
            end = max(self.last_ts, self.started_at)
        else:
            end = self.ended_at if self.ended_at is not None else now_us
        return AgentSession(
            id=self.id,
            sandbox_id=self.sandbox_id,
            status=SessionStatus(self.status),
            agent_type=self.agent_type,
            model=self.model,
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            llm_cost=round(self.llm_cost, 6),
            compute_cost=round(compute, 6),
            total_cost=round(self.llm_cost + compute, 6),
            cost_usd=round(self.llm_cost + compute, 6),
            trust_score=self.trust_score,
            event_count=self.event_count,
            duration_ms=max(0, end - self.started_at) / 1000,
            started_at=from_us(self.started_at),
            ended_at=from_us(self.ended_at) if self.ended_at is not None else None,
        )


def _load(conn: sqlite3.Connection, session_id: str) -> SessionRow | None:
    row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return SessionRow.from_row(row) if row else None


def _insert_session(conn: sqlite3.Connection, s: SessionRow) -> None:
    conn.execute(
        "INSERT INTO sessions (id, account_id, sandbox_id, status, origin, agent_type, client,"
        " compute_base, started_at, last_activity, last_ts) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (s.id, s.account_id, s.sandbox_id, s.status, s.origin, s.agent_type, s.client,
         s.compute_base, s.started_at, s.last_activity, s.last_ts),
    )  # fmt: skip


def _new_row(
    session_id: str,
    account_id: str,
    sandbox_id: str,
    *,
    origin: str,
    started_at: int,
    now_us: int,
    compute_base: float | None,
    agent_type: str | None = None,
    client: str | None = None,
) -> SessionRow:
    return SessionRow(
        id=session_id, account_id=account_id, sandbox_id=sandbox_id,
        status=SessionStatus.ACTIVE.value, origin=origin, agent_type=agent_type, client=client,
        model=None, tokens_in=0, tokens_out=0, llm_cost=0.0, compute_base=compute_base,
        compute_cost=0.0, trust_score=trust.START_SCORE, trust_state=trust.TrustState(),
        event_count=0, last_seq=0, started_at=started_at, last_activity=now_us,
        first_ts=None, last_ts=started_at, ended_at=None,
        end_reason=None, auto_paused=False,
    )  # fmt: skip


def create_session(
    conn: sqlite3.Connection,
    account_id: str,
    sandbox_id: str,
    *,
    agent_type: str | None,
    client: str | None,
    now_us: int,
    compute_base: float | None,
) -> SessionRow:
    """A new active session for an agent that has just connected."""
    row = _new_row(
        new_id("sess"), account_id, sandbox_id, origin="socket", started_at=now_us,
        now_us=now_us, compute_base=compute_base, agent_type=agent_type, client=client,
    )  # fmt: skip
    with transaction(conn):
        _insert_session(conn, row)
    return row


@dataclass(frozen=True, slots=True)
class Stored:
    """Where one event of a batch was stored (the wire model is built only on demand)."""

    id: str
    session_id: str
    sequence: int
    sandbox_id: str
    event: NewEvent

    def to_model(self) -> ReplayEvent:
        return ReplayEvent(
            id=self.id,
            session_id=self.session_id,
            sequence=self.sequence,
            type=self.event.type,
            timestamp=from_us(self.event.ts_us),
            duration_ms=self.event.duration_ms,
            data=self.event.payload,
            sandbox_id=self.sandbox_id,
            meta=self.event.meta,
        )


@dataclass(slots=True)
class AppendResult:
    """What a batch changed, for the alert engine and the caller."""

    accepted: int = 0
    #: (index in the batch, why) for every refused event.
    errors: list[tuple[int, str]] = field(default_factory=list)
    #: Stored events in batch order (duplicates of already-stored ids are not repeated),
    #: when asked for (``keep_stored``).
    stored: list[Stored] = field(default_factory=list)
    #: Sessions touched by the batch, as they are after it.
    sessions: dict[str, SessionRow] = field(default_factory=dict)
    #: Sessions that received trust deductions in this batch → the latest reason.
    deducted: dict[str, str] = field(default_factory=dict)
    #: Sessions whose LLM cost went up in this batch.
    llm_sessions: set[str] = field(default_factory=set)
    #: Sandboxes whose LLM cost went up in this batch → by how much.
    llm_added: dict[str, float] = field(default_factory=dict)
    #: (sandbox_id, session_id) pairs that received ``error`` events.
    error_subjects: set[tuple[str, str]] = field(default_factory=set)


class _Batch:
    """Caches of one batch's transaction: sessions, the sandboxes' latest session, ids seen
    in the batch and ids of it stored before."""

    def __init__(self, conn: sqlite3.Connection, account_id: str) -> None:
        self.conn = conn
        self.account_id = account_id
        self.sessions: dict[str, SessionRow] = {}
        self.latest: dict[str, SessionRow | None] = {}
        self.ids: set[str] = set()
        self.stored: set[str] = set()

    def session(self, session_id: str) -> SessionRow | None:
        if session_id not in self.sessions:
            row = _load(self.conn, session_id)
            if row is None:
                return None
            self.sessions[session_id] = row
        return self.sessions[session_id]

    def latest_active(self, sandbox_id: str) -> SessionRow | None:
        """The sandbox's newest active session of this account (events without a session)."""
        if sandbox_id not in self.latest:
            row = self.conn.execute(
                "SELECT id FROM sessions WHERE sandbox_id = ? AND account_id = ? AND status = ?"
                " ORDER BY started_at DESC LIMIT 1",
                (sandbox_id, self.account_id, SessionStatus.ACTIVE.value),
            ).fetchone()
            self.latest[sandbox_id] = self.session(row["id"]) if row else None
        return self.latest[sandbox_id]

    def look_up(self, event_ids: Iterable[str]) -> None:
        """Note which of a batch's ids are stored already: one query, not one per event."""
        wanted = list(set(event_ids))
        for start in range(0, len(wanted), 500):  # stay under SQLite's parameter limit
            chunk = wanted[start : start + 500]
            self.stored.update(
                row[0]
                for row in self.conn.execute(
                    f"SELECT id FROM events WHERE account_id = ? AND id IN "
                    f"({','.join('?' * len(chunk))})",
                    (self.account_id, *chunk),
                )
            )

    def duplicate(self, event_id: str) -> bool:
        """Whether the id is stored already or came earlier in the batch (after
        :meth:`look_up` of the batch's ids)."""
        if event_id in self.ids or event_id in self.stored:
            return True
        self.ids.add(event_id)
        return False


def _resolve_session(
    batch: _Batch,
    event: NewEvent,
    *,
    now_us: int,
    compute_now: dict[str, float],
    create: bool,
) -> SessionRow | None:
    if event.session_id is None:
        return _implicit_session(batch, event, now_us=now_us, compute_now=compute_now)
    row = batch.session(event.session_id)
    if row is not None:
        if row.account_id != batch.account_id:
            raise ValueError(f"session_id {event.session_id!r} belongs to another account")
        return row
    if not create:
        raise ValueError(f"unknown session_id {event.session_id!r}")
    sandbox_id = event.sandbox_id or ""
    row = _new_row(
        event.session_id, batch.account_id, sandbox_id, origin="ingest",
        started_at=event.ts_us, now_us=now_us,  # the agent's clock, like its events
        compute_base=compute_now.get(sandbox_id),
        # Agents name themselves in meta (the SDKs' convention); otherwise it stays unknown.
        agent_type=event.meta.get("agent_type") or event.meta.get("agent"),
    )  # fmt: skip
    _insert_session(batch.conn, row)
    batch.sessions[row.id] = row
    return row


def _implicit_session(
    batch: _Batch, event: NewEvent, *, now_us: int, compute_now: dict[str, float]
) -> SessionRow | None:
    """The session an event naming none belongs to (see the module docstring)."""
    sandbox_id = event.sandbox_id
    if not sandbox_id:
        return None
    row = batch.latest_active(sandbox_id)
    idle = row is not None and now_us - row.last_activity >= MANUAL_IDLE_SECONDS * 1_000_000
    if row is not None and row.origin == MANUAL and idle:
        # Quiet for long enough: that burst is over, this one starts anew.
        row.status = SessionStatus.COMPLETED.value
        row.ended_at, row.end_reason = row.last_activity, "idle"
        batch.conn.execute(
            "UPDATE sessions SET status = ?, ended_at = ?, end_reason = ? WHERE id = ?",
            (row.status, row.ended_at, row.end_reason, row.id),
        )
        row = None
    if row is not None or event.type == "lifecycle":
        # The sandbox's own lifecycle (created, paused …) is in its logs: it joins a
        # session, but is no activity to open one for.
        return row
    row = _new_row(
        new_id("sess"), batch.account_id, sandbox_id, origin=MANUAL,
        started_at=min(event.ts_us, now_us), now_us=now_us,
        compute_base=compute_now.get(sandbox_id), agent_type=MANUAL,
    )  # fmt: skip
    _insert_session(batch.conn, row)
    batch.sessions[row.id] = row
    batch.latest[sandbox_id] = row
    return row


def append_events(
    conn: sqlite3.Connection,
    account_id: str,
    items: Sequence[tuple[int, NewEvent]],
    *,
    now_us: int,
    compute_now: dict[str, float],
    create_sessions: bool = True,
    keep_stored: bool = False,
) -> AppendResult:
    """Store a batch in one transaction, updating sessions, usage and trust.

    ``items`` pairs each event with its index in the request (for error
    messages); ``compute_now`` is each known sandbox's compute cost now, the
    base of a new session's compute share. With ``create_sessions`` false an
    unknown ``session_id`` is an error instead of the start of a session. With
    ``keep_stored`` the result lists where each event was stored (ingest does not
    need it: a thousand objects a batch for nothing). An
    event whose ``id`` is already stored for this account is acknowledged again
    but not stored twice, so a client may safely retry a batch.
    """
    result = AppendResult()
    with transaction(conn):
        batch = _Batch(conn, account_id)
        batch.look_up(event.id for _, event in items if event.id is not None)
        usage: dict[str, list[float]] = {}
        type_counts: dict[tuple[str, str], int] = {}
        rows: list[tuple[Any, ...]] = []
        deductions: list[tuple[Any, ...]] = []
        quoted: dict[str, str] = {}  # session and sandbox ids, JSON-quoted once a batch
        for index, event in items:
            if event.id is not None and batch.duplicate(event.id):
                result.accepted += 1
                continue
            try:
                session = _resolve_session(
                    batch, event, now_us=now_us, compute_now=compute_now, create=create_sessions
                )
            except ValueError as err:
                result.errors.append((index, str(err)))
                continue
            event_id = event.id or new_id("evt")
            sandbox_id = event.sandbox_id or (session.sandbox_id if session else "")
            sequence: int | None = None
            if session is not None:
                session.last_seq += 1
                session.event_count += 1
                session.last_activity = now_us
                session.last_ts = max(session.last_ts, event.ts_us)
                if session.first_ts is None or event.ts_us < session.first_ts:
                    session.first_ts = event.ts_us
                key = (session.id, event.type)
                type_counts[key] = type_counts.get(key, 0) + 1
                sequence = session.last_seq
                result.sessions[session.id] = session
                for finding in trust.assess(event, session.trust_state):
                    session.trust_score = trust.score_after(
                        trust.START_SCORE - session.trust_score + finding.points
                    )
                    deductions.append(
                        (session.id, finding.rule, finding.points, finding.reason, event_id,
                         sequence, event.ts_us)
                    )  # fmt: skip
                    result.deducted[session.id] = finding.reason
            payload_json = event.payload_json
            if event.type == "llm_call":
                used = llm_usage(event.payload)
                if used.priced and "cost_usd" not in event.payload:
                    # Priced here, from the tokens: the call is stored with that price, so a
                    # replay's running cost adds up to the session's.
                    _, payload_json = encode_payload(
                        {**event.payload, "cost_usd": round(used.cost_usd, 9)}
                    )
                if session is not None:
                    session.tokens_in += used.tokens_in
                    session.tokens_out += used.tokens_out
                    session.llm_cost += used.cost_usd
                    session.model = used.model or session.model
                    if used.cost_usd > 0:
                        result.llm_sessions.add(session.id)
                if sandbox_id:
                    totals = usage.setdefault(sandbox_id, [0.0, 0, 0])
                    totals[0] += used.cost_usd
                    totals[1] += used.tokens_in
                    totals[2] += used.tokens_out
                    if used.cost_usd > 0:
                        result.llm_added[sandbox_id] = (
                            result.llm_added.get(sandbox_id, 0.0) + used.cost_usd
                        )
            if event.type == "error":
                result.error_subjects.add((sandbox_id, session.id if session else ""))
            meta_json = json.dumps(event.meta, separators=(",", ":")) if event.meta else "{}"
            text = None
            if session is not None:
                if session.id not in quoted:
                    quoted[session.id] = json_quote(session.id)
                if sandbox_id not in quoted:
                    quoted[sandbox_id] = json_quote(sandbox_id)
                text = event_json(
                    id_json=json_quote(event_id), session_json=quoted[session.id],
                    sequence=session.last_seq, type=event.type, ts_us=event.ts_us,
                    duration_ms=event.duration_ms, data=payload_json,
                    sandbox_json=quoted[sandbox_id], meta=meta_json,
                )  # fmt: skip
            rows.append(
                (event_id, account_id, session.id if session else None, sequence, sandbox_id,
                 event.type, event.ts_us, now_us, event.duration_ms, event.process_id,
                 meta_json, payload_json, text)
            )  # fmt: skip
            if keep_stored:
                result.stored.append(
                    Stored(event_id, session.id if session else "", sequence or 0, sandbox_id,
                           event)
                )  # fmt: skip
            result.accepted += 1
        conn.executemany(_INSERT_EVENT, rows)
        conn.executemany(
            "INSERT INTO deductions (session_id, rule, points, reason, event_id, sequence, ts)"
            " VALUES (?,?,?,?,?,?,?)",
            deductions,
        )
        for sandbox_id, (cost, tokens_in, tokens_out) in usage.items():
            conn.execute(
                "INSERT INTO sandbox_usage (sandbox_id, account_id, llm_cost, tokens_in,"
                " tokens_out) VALUES (?,?,?,?,?) ON CONFLICT(sandbox_id) DO UPDATE SET"
                " llm_cost = llm_cost + excluded.llm_cost,"
                " tokens_in = tokens_in + excluded.tokens_in,"
                " tokens_out = tokens_out + excluded.tokens_out",
                (sandbox_id, account_id, cost, int(tokens_in), int(tokens_out)),
            )
        conn.executemany(
            "INSERT INTO session_types (session_id, type, count) VALUES (?,?,?)"
            " ON CONFLICT(session_id, type) DO UPDATE SET count = count + excluded.count",
            [(sid, type_, n) for (sid, type_), n in type_counts.items()],
        )
        for s in result.sessions.values():
            conn.execute(
                "UPDATE sessions SET model = ?, tokens_in = ?, tokens_out = ?, llm_cost = ?,"
                " trust_score = ?, trust_state = ?, event_count = ?, last_seq = ?,"
                " last_activity = ?, first_ts = ?, last_ts = ? WHERE id = ?",
                (s.model, s.tokens_in, s.tokens_out, s.llm_cost, s.trust_score,
                 json.dumps(s.trust_state.to_json()), s.event_count, s.last_seq,
                 s.last_activity, s.first_ts, s.last_ts, s.id),
            )  # fmt: skip
    return result


def end_session(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    failed: bool,
    reason: str,
    now_us: int,
    sandbox_compute_now: float | None,
) -> SessionRow | None:
    """End an active session (no-op on an ended one); freeze its compute share."""
    with transaction(conn):
        row = _load(conn, session_id)
        if row is None or row.status != SessionStatus.ACTIVE.value:
            return row
        row.compute_cost = row.compute_share(sandbox_compute_now)
        row.status = (SessionStatus.FAILED if failed else SessionStatus.COMPLETED).value
        row.ended_at = now_us
        row.end_reason = reason
        conn.execute(
            "UPDATE sessions SET status = ?, compute_cost = ?, ended_at = ?, end_reason = ?"
            " WHERE id = ?",
            (row.status, row.compute_cost, row.ended_at, row.end_reason, row.id),
        )
    return row


def mark_auto_paused(conn: sqlite3.Connection, session_id: str) -> bool:
    """Flag a session whose sandbox was paused for low trust; False if it already was."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE sessions SET auto_paused = 1 WHERE id = ? AND auto_paused = 0", (session_id,)
        )
    return cursor.rowcount == 1


def get_session_any(conn: sqlite3.Connection, session_id: str) -> SessionRow | None:
    """The session whatever its account (for the platform's own calls), or None."""
    return _load(conn, session_id)


def get_session(conn: sqlite3.Connection, account_id: str, session_id: str) -> SessionRow | None:
    """The session, or None when it does not exist or belongs to another account."""
    row = _load(conn, session_id)
    return row if row is not None and row.account_id == account_id else None


def list_sessions(
    conn: sqlite3.Connection,
    account_id: str,
    *,
    sandbox_id: str | None = None,
    limit: int = -1,
    offset: int = 0,
) -> tuple[list[SessionRow], int]:
    """Sessions newest first, and how many there are in all."""
    where, args = "account_id = ?", [account_id]
    if sandbox_id is not None:
        where += " AND sandbox_id = ?"
        args.append(sandbox_id)
    total = conn.execute(f"SELECT COUNT(*) FROM sessions WHERE {where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM sessions WHERE {where} ORDER BY started_at DESC, rowid DESC"
        " LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return [SessionRow.from_row(r) for r in rows], int(total)


def sessions_to_end(conn: sqlite3.Connection) -> list[SessionRow]:
    """Every active session (the caller decides which have timed out)."""
    rows = conn.execute(
        "SELECT * FROM sessions WHERE status = ?", (SessionStatus.ACTIVE.value,)
    ).fetchall()
    return [SessionRow.from_row(r) for r in rows]


def sandbox_llm_costs(conn: sqlite3.Connection) -> dict[str, float]:
    """LLM cost per sandbox, to seed the in-memory view at start-up."""
    rows = conn.execute("SELECT sandbox_id, llm_cost FROM sandbox_usage").fetchall()
    return {r["sandbox_id"]: float(r["llm_cost"]) for r in rows}


def completed_costs(
    conn: sqlite3.Connection, account_id: str, exclude: str, *, llm: bool
) -> list[float]:
    """Total costs of the account's ended sessions that cost anything (cost-anomaly
    baseline): those with LLM cost when ``llm``, else the compute-only ones."""
    rows = conn.execute(
        "SELECT llm_cost + compute_cost AS total FROM sessions WHERE account_id = ?"
        " AND status != ? AND id != ? AND llm_cost + compute_cost > 0 AND (llm_cost > 0) = ?",
        (account_id, SessionStatus.ACTIVE.value, exclude, int(llm)),
    ).fetchall()
    return [float(r["total"]) for r in rows]
