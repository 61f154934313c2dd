"""What coordinates the observe package: :class:`Observer`.

It owns ``observe.db``, the alert engine, the notifier and two background
tasks — the terminal-output flusher and the timer that evaluates time-based
rules (stuck agents, idle sessions, budgets growing with compute time) — and
everything that writes events: ingest, the platform's own recordings,
terminal and MCP sessions, each followed by the rules it may trip. Reading
(sessions, replay, trust, alerts, notifications) is done by the services it
builds on the same database, which the routes call directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from caged_core.models import (
    AgentSession,
    Alert,
    IngestResult,
    ReplayEvent,
)
from caged_platform.changes import unwatched
from caged_platform.runtime.api import FileChange

from . import alerts, notify, sessions
from .errors import Invalid, NotFound
from .events import (
    KNOWN_TYPES,
    MAX_BATCH,
    EventError,
    NewEvent,
    encode_payload,
    parse_event,
    to_us,
)
from .hooks import PlatformHooks
from .session_views import SessionViews
from .store import observe_database
from .terminal import CHUNK_CHARS, OUTPUT_CAP_BYTES, LineAssembler, OutputBuffer

__all__ = ["Observer"]

_log = logging.getLogger(__name__)

#: The contract's default idle timeout, for sessions whose sandbox the platform does not know.
DEFAULT_IDLE_TIMEOUT = 900.0
# Per-event error messages returned by ingest (the count is always complete).
_MAX_MESSAGES = 50
# Strings in platform-recorded payloads are clipped to this, so a huge command line
# cannot push an event over the payload cap.
_RECORD_STRING_CHARS = 8 * 1024


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _RECORD_STRING_CHARS:
        return value[:_RECORD_STRING_CHARS] + "…[truncated]"
    if isinstance(value, dict):
        return {key: _clip(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clip(item) for item in value]
    return value


def _parse_and_append(
    conn: sqlite3.Connection,
    account_id: str,
    raw_events: list[Any],
    *,
    foreign: set[str],
    now_us: int,
    compute_now: dict[str, float],
) -> tuple[sessions.AppendResult, list[tuple[int, str]]]:
    """Validate each raw event and store the good ones in one transaction (on the
    database thread); the result, and why each refused event was, by its index."""
    items: list[tuple[int, NewEvent]] = []
    errors: list[tuple[int, str]] = []
    for index, raw in enumerate(raw_events):
        try:
            event = parse_event(raw)
        except EventError as err:
            errors.append((index, str(err)))
            continue
        if event.sandbox_id in foreign:
            why = f"sandbox_id {event.sandbox_id!r} is not one of this account's sandboxes"
            errors.append((index, why))
        else:
            items.append((index, event))
    result = sessions.append_events(conn, account_id, items, now_us=now_us, compute_now=compute_now)
    errors.extend(result.errors)
    return result, errors


@dataclass(slots=True)
class _Terminal:
    """A live terminal session's input assembly and output buffer."""

    account_id: str
    sandbox_id: str
    output: OutputBuffer
    lines: LineAssembler = field(default_factory=LineAssembler)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    flushing: bool = False  # a background flush is scheduled or running


class Observer:
    """Events → sessions → replay → trust → alerts → notifications, for the local platform.

    ``hooks`` is the server's side of the bargain (:class:`PlatformHooks`);
    ``http`` the client webhooks are posted with (one is made and owned when not
    given); ``clock`` answers "now" (tests move it); ``smtp`` enables email;
    ``delivery`` sets webhook retries; ``tick_seconds`` is the period of the
    timer for time-based rules; ``flush_seconds`` how long terminal output may
    wait before it is stored; ``on_change`` is called with the account when alerts
    or notifications are created (held GETs wait for it).

    The read side: :attr:`sessions` (:class:`SessionViews`), :attr:`alerts`
    (:class:`~.alerts.Alerts`) and :attr:`notifications` (:class:`~.notify.Notifications`).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        hooks: PlatformHooks,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], datetime] = _utcnow,
        smtp: notify.SmtpSettings | None = None,
        delivery: notify.DeliveryPolicy | None = None,
        tick_seconds: float = 30.0,
        flush_seconds: float = 0.1,
        terminal_output_cap: int = OUTPUT_CAP_BYTES,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._db = observe_database(Path(data_dir))
        # Told (with the account) when alerts or notifications are created: held GETs.
        self._on_change = on_change or unwatched
        self._hooks = hooks
        self._own_http = http is None
        self._http = http or httpx.AsyncClient()
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._flush_seconds = flush_seconds
        self._output_cap = terminal_output_cap
        self._notifier = notify.Notifier(
            self._db,
            self._http,
            smtp=smtp,
            policy=delivery or notify.DeliveryPolicy(),
            now_us=self._now_us,
        )
        self._engine = alerts.AlertEngine(
            self._db,
            hooks,
            raised=self._on_alert,
            llm_cost=self.llm_cost,
            now_us=self._now_us,
            spawn=self._spawn,
        )
        #: The read side the routes call directly; the observer only builds them on its
        #: database and clock.
        self.sessions = SessionViews(self._db, hooks, now_us=self._now_us)
        self.alerts = alerts.Alerts(self._db, now_us=self._now_us)
        self.notifications = notify.Notifications(self._db)
        self._llm_costs: dict[str, float] = {}
        # Sessions whose agent is connected to this process (their end is the disconnect).
        self._live: set[str] = set()
        self._terminals: dict[str, _Terminal] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # Background work (refused-network recordings, stops and pauses), kept so that
        # close() and wait_idle() can wait for it.
        self._pending: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    def _now_us(self) -> int:
        return to_us(self._clock())

    async def start(self) -> None:
        """Open the database and start the timers.

        Sessions left active by a previous run whose agent was connected by
        socket are ended (completed): their sockets died with that process; and
        notification deliveries it left in flight are started again.
        """
        self._loop = asyncio.get_running_loop()
        await self._db.open()
        self._llm_costs = await self._db.run(sessions.sandbox_llm_costs)
        for row in await self._db.run(sessions.sessions_to_end):
            if row.origin == "socket":
                await self._end(row.id, failed=False, reason="the platform restarted")
        await self._notifier.resume()
        self._tasks = [
            asyncio.create_task(self._every(self._tick_seconds, self.tick)),
            asyncio.create_task(self._every(self._flush_seconds, self._flush_due)),
        ]

    async def close(self) -> None:
        """Stop the timers, store pending terminal output, and close everything."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await asyncio.gather(*list(self._pending), return_exceptions=True)
        for session_id in list(self._terminals):
            await self._flush(session_id, final=True)
        await self._notifier.close()
        if self._own_http:
            await self._http.aclose()
        await self._db.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _every(self, seconds: float, job: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:  # a failing round must not stop the timer
                _log.exception("observe timer job failed")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def wait_idle(self) -> None:
        """Wait for background work (recordings, stops, pauses) and deliveries in flight."""
        # Let callbacks scheduled from other threads (network_refused) create their tasks.
        await asyncio.sleep(0)
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self._notifier.wait_idle()

    # ------------------------------------------------------------------ events

    async def ingest(self, account_id: str, raw_events: Any) -> IngestResult:
        """``POST /events/ingest``: validate each event, store the good ones durably.

        Raises :class:`Invalid` only for the batch as a whole (not an array, or
        more than 1000 events); a bad event is counted in ``errors`` with a
        message and never affects the others. Returns once stored (committed).
        """
        if not isinstance(raw_events, list):
            raise Invalid("events must be an array of event objects")
        if len(raw_events) > MAX_BATCH:
            raise Invalid(f"a batch holds at most {MAX_BATCH} events; got {len(raw_events)}")
        # The sandboxes named are looked up first (a parsed sandbox_id is the raw string),
        # so that parsing and storing are one job on the database thread: one hop there,
        # and never the event loop's time (up to 1000 payloads of up to 64 KiB to encode).
        named = {
            raw["sandbox_id"]
            for raw in raw_events
            if isinstance(raw, dict) and isinstance(raw.get("sandbox_id"), str)
        }
        foreign, compute_now = await self._sandbox_owners(account_id, named)
        result, errors = await self._db.run(
            _parse_and_append,
            account_id,
            raw_events,
            foreign=foreign,
            now_us=self._now_us(),
            compute_now=compute_now,
        )
        await self._after_append(account_id, result)
        errors.sort()
        return IngestResult(
            accepted=result.accepted,
            errors=len(errors),
            messages=[f"event {index}: {why}" for index, why in errors[:_MAX_MESSAGES]],
        )

    async def _sandbox_owners(
        self, account_id: str, sandbox_ids: set[str]
    ) -> tuple[set[str], dict[str, float]]:
        """Which of ``sandbox_ids`` belong to another account, and the compute cost of
        the account's own (sandboxes the platform does not know are neither)."""
        compute_now: dict[str, float] = {}
        foreign: set[str] = set()
        for sandbox_id in sandbox_ids:
            info = await self._hooks.sandbox_info(sandbox_id)
            if info is None:
                continue  # not a sandbox of this platform: stored, but no costs apply
            if info.account_id != account_id:
                foreign.add(sandbox_id)
            else:
                compute_now[sandbox_id] = info.compute_cost
        return foreign, compute_now

    async def record(
        self,
        account_id: str,
        sandbox_id: str,
        type: str,
        payload: dict[str, Any],
        *,
        session_id: str | None = None,
        duration_ms: float | None = None,
        timestamp: datetime | None = None,
    ) -> ReplayEvent:
        """Store an event the platform observed itself (exec, MCP call, file change …).

        Without ``session_id`` it joins the sandbox's newest active session, or
        is stored outside any session when there is none. Long strings in
        ``payload`` are clipped so the event stays under the payload cap.
        Raises :class:`Invalid` for an unknown type or a non-JSON payload and
        :class:`NotFound` for an unknown ``session_id``.
        """
        [stored] = await self._record_batch(
            account_id,
            sandbox_id,
            [(type, payload, duration_ms)],
            session_id=session_id,
            timestamp=timestamp,
        )
        return stored

    def record_soon(
        self,
        account_id: str,
        sandbox_id: str,
        type: str,
        payload: dict[str, Any],
        *,
        duration_ms: float | None = None,
    ) -> None:
        """:meth:`record`, without waiting for it: for the platform's own events on a
        latency-sensitive path (exec).

        The event's write is queued on the database thread at the loop's next step,
        before any request that arrives later is read, so every later query sees it;
        a failure is logged. It is not durable until that commit (a SIGKILL just after
        this call may lose it); :meth:`close` and :meth:`wait_idle` wait for it.
        """

        async def record() -> None:
            try:
                await self.record(account_id, sandbox_id, type, payload, duration_ms=duration_ms)
            except Exception:
                _log.exception("recording a %s event for %s failed", type, sandbox_id)

        self._spawn(record())

    async def _record_batch(
        self,
        account_id: str,
        sandbox_id: str,
        items: list[tuple[str, dict[str, Any], float | None]],
        *,
        session_id: str | None,
        timestamp: datetime | None = None,
    ) -> list[ReplayEvent]:
        """Store platform events ``(type, payload, duration_ms)`` in one transaction."""
        ts_us = to_us(timestamp) if timestamp else self._now_us()
        events = []
        for index, (type_, payload, duration_ms) in enumerate(items):
            if type_ not in KNOWN_TYPES:
                raise Invalid(f"unknown event type {type_!r}")
            try:
                clean, text = encode_payload(_clip(payload))
            except EventError as err:
                raise Invalid(str(err)) from None
            new = NewEvent(
                type=type_,
                ts_us=ts_us,
                payload=clean,
                payload_json=text,
                session_id=session_id,
                sandbox_id=sandbox_id or None,
                duration_ms=duration_ms,
                recorded=True,
            )
            events.append((index, new))
        result = await self._db.run(
            sessions.append_events,
            account_id,
            events,
            now_us=self._now_us(),
            compute_now={},  # only new sessions need it, and the platform never starts one here
            create_sessions=False,
            keep_stored=True,
        )
        if result.errors:
            raise NotFound(result.errors[0][1])
        await self._after_append(account_id, result)
        return [stored.to_model() for stored in result.stored]

    async def follow_file_changes(
        self, account_id: str, sandbox_id: str, changes: AsyncIterable[FileChange]
    ) -> None:
        """Record each change from ``runtime.watch_files(sandbox_id)`` as a ``file_op`` event.

        Runs until the iterator ends (the cage stopped); the server runs one
        such task per running sandbox.
        """
        async for change in changes:
            payload: dict[str, Any] = {"path": change.path, "kind": change.kind}
            if change.dest:
                payload["dest"] = change.dest
            payload.update(change.facts)  # the diff, or sizes and hashes
            payload["source"] = "sandbox"
            try:
                await self.record(account_id, sandbox_id, "file_op", payload)
            except Exception:  # one unrecordable change must not end the watch
                _log.exception("recording a file change in %s failed", sandbox_id)

    def network_refused(self, sandbox_id: str, host: str) -> None:
        """``runtime.on_network_refused`` callback: record the refused attempt.

        Safe to call from any thread; the ``network`` event is written in the
        background (and awaited by :meth:`close`).
        """
        loop = self._loop
        if loop is None:
            return
        payload = {"host": host, "allowed": False, "reason": "refused by the network policy"}

        async def record_refusal() -> None:
            info = await self._hooks.sandbox_info(sandbox_id)
            if info is not None:  # a sandbox the platform does not know has no account
                await self.record(info.account_id, sandbox_id, "network", payload)

        loop.call_soon_threadsafe(self._spawn, record_refusal())

    async def _after_append(self, account_id: str, result: sessions.AppendResult) -> None:
        """Evaluate the rules an appended batch may have tripped (never fails the write)."""
        for sandbox_id, added in result.llm_added.items():
            self._llm_costs[sandbox_id] = self._llm_costs.get(sandbox_id, 0.0) + added
        try:
            for session_id, why in result.deducted.items():
                await self._engine.check_trust(result.sessions[session_id], why)
            for sandbox_id, session_id in sorted(result.error_subjects):
                await self._engine.check_errors(account_id, sandbox_id, session_id)
            for sandbox_id in result.llm_added:
                await self._engine.check_budget(sandbox_id)
            for session_id in result.llm_sessions:
                row = result.sessions[session_id]
                compute = await self.sessions.compute_of(row.sandbox_id)
                await self._engine.check_anomaly(row, compute)
        except Exception:  # the events are stored; a failing rule is logged, not raised
            _log.exception("evaluating alert rules failed")

    async def _on_alert(self, alert: Alert) -> None:
        self._on_change(alert.account_id)  # the alert is stored: a held GET sees it now
        await self._notifier.dispatch(alert)
        self._on_change(alert.account_id)  # and its notifications

    def llm_cost(self, sandbox_id: str) -> float:
        """LLM cost (USD) recorded for a sandbox so far — for its ``llm_cost`` field."""
        return self._llm_costs.get(sandbox_id, 0.0)

    # ------------------------------------------------------------------ sessions

    async def open_session(
        self,
        account_id: str,
        sandbox_id: str,
        *,
        agent_type: str | None = None,
        client: str | None = None,
        channel: str = "terminal",
        size: tuple[int, int] | None = None,
    ) -> str:
        """An agent connected (``channel`` ``"terminal"`` or ``"mcp"``): start its session.

        Records a ``lifecycle`` open event (with the terminal's ``size``, rows and
        columns, so a replay draws it as it was) and returns the session id. For a
        terminal, :meth:`terminal_input`, :meth:`terminal_output` and
        :meth:`terminal_resize` then record its traffic. A terminal whose client
        names no agent is a person's: its ``agent_type`` is ``manual``.
        """
        if agent_type is None and channel == "terminal":
            agent_type = sessions.MANUAL
        row = await self._db.run(
            sessions.create_session,
            account_id,
            sandbox_id,
            agent_type=agent_type,
            client=client,
            now_us=self._now_us(),
            compute_base=await self.sessions.compute_of(sandbox_id),
        )
        self._live.add(row.id)
        if channel == "terminal":
            self._terminals[row.id] = _Terminal(
                account_id, sandbox_id, OutputBuffer(self._output_cap)
            )
        opened: dict[str, Any] = {
            "action": "open", "channel": channel, "client": client, "agent_type": agent_type
        }  # fmt: skip
        if size is not None:
            opened["rows"], opened["cols"] = size
        await self.record(account_id, sandbox_id, "lifecycle", opened, session_id=row.id)
        return row.id

    async def close_session(
        self, session_id: str, *, failed: bool = False, reason: str = "disconnected"
    ) -> AgentSession:
        """The agent disconnected: store pending output, record the close, end the session.

        ``failed`` when it ended by an error or a kill. Closing an ended session
        changes nothing. Raises :class:`NotFound` for an unknown session.
        """
        row = await self._end(session_id, failed=failed, reason=reason)
        if row is None:
            raise NotFound(f"no session {session_id!r}")
        return (await self.sessions.models([row]))[0]

    async def _end(
        self, session_id: str, *, failed: bool, reason: str
    ) -> sessions.SessionRow | None:
        terminal = self._terminals.get(session_id)
        if terminal is not None:
            await self._flush(session_id, final=True)
            self._terminals.pop(session_id, None)
        self._live.discard(session_id)
        current = await self._db.run(sessions.get_session_any, session_id)
        if current is None:
            return None
        if current.status == "active":
            await self.record(
                current.account_id,
                current.sandbox_id,
                "lifecycle",
                {"action": "close", "reason": reason, "failed": failed},
                session_id=session_id,
            )
        row = await self._db.run(
            sessions.end_session,
            session_id,
            failed=failed,
            reason=reason,
            now_us=self._now_us(),
            sandbox_compute_now=await self.sessions.compute_of(current.sandbox_id),
        )
        if row is not None and current.status == "active":
            try:
                await self._engine.check_anomaly(row, None)
            except Exception:
                _log.exception("evaluating the cost-anomaly rule failed")
        return row

    async def end_sandbox_sessions(
        self, sandbox_id: str, *, failed: bool, reason: str
    ) -> list[str]:
        """End every active session of a sandbox (it was killed, destroyed or failed)."""
        ended = []
        for row in await self._db.run(sessions.sessions_to_end):
            if row.sandbox_id == sandbox_id:
                await self._end(row.id, failed=failed, reason=reason)
                ended.append(row.id)
        return ended

    # ------------------------------------------------------------------ terminal

    async def terminal_input(self, session_id: str, data: str) -> None:
        """Typed input of a terminal session; each completed line becomes a ``command`` event.

        Input for a session that is not an open terminal is ignored (it may
        race with the close).
        """
        terminal = self._terminals.get(session_id)
        if terminal is None:
            return
        lines = terminal.lines.feed(data)
        if not lines:
            return
        # Output shown before Enter belongs before the command in the recording.
        await self._flush(session_id)
        for line in lines:
            if line.strip():
                await self.record(
                    terminal.account_id,
                    terminal.sandbox_id,
                    "command",
                    {"command": line, "source": "terminal"},
                    session_id=session_id,
                )

    async def terminal_resize(self, session_id: str, rows: int, cols: int) -> None:
        """The terminal was resized: recorded (after the output shown before it) as an
        ``other`` event ``{"kind": "terminal_resize", "rows", "cols"}``, so a replay
        resizes where the user did."""
        terminal = self._terminals.get(session_id)
        if terminal is None:
            return
        await self._flush(session_id)
        await self.record(
            terminal.account_id,
            terminal.sandbox_id,
            "other",
            {"kind": "terminal_resize", "rows": rows, "cols": cols},
            session_id=session_id,
        )

    async def terminal_output(self, session_id: str, data: bytes) -> None:
        """Output a terminal session showed (raw PTY bytes); stored as chunks in the
        background (see :mod:`.terminal`), so this never waits for the disk."""
        terminal = self._terminals.get(session_id)
        if terminal is None:
            return
        terminal.output.add(data, time.monotonic())
        # A full chunk is stored in the background: the PTY pump calling this must never
        # wait for a disk write, or a flood of output would crawl.
        if terminal.output.pending_chars >= CHUNK_CHARS and not terminal.flushing:
            terminal.flushing = True
            self._spawn(self._flush_in_background(session_id, terminal))

    async def _flush_in_background(self, session_id: str, terminal: _Terminal) -> None:
        try:
            await self._flush(session_id)
        except Exception:  # the output is lost, the terminal goes on
            _log.exception("storing terminal output of %s failed", session_id)
        finally:
            terminal.flushing = False

    async def _flush_due(self) -> None:
        now = time.monotonic()
        for session_id, terminal in list(self._terminals.items()):
            since = terminal.output.pending_since
            if since is not None and now - since >= self._flush_seconds:
                await self._flush(session_id)

    async def _flush(self, session_id: str, *, final: bool = False) -> None:
        terminal = self._terminals.get(session_id)
        if terminal is None:
            return
        async with terminal.lock:
            items: list[tuple[str, dict[str, Any], float | None]] = []
            while (chunk := terminal.output.take(final=final)) is not None:
                text, offset = chunk
                items.append(
                    ("other", {"kind": "terminal_output", "data": text, "offset": offset}, None)
                )
            if final and terminal.output.dropped:
                note = {
                    "kind": "terminal_output_truncated",
                    "dropped_bytes": terminal.output.dropped,
                    "cap_bytes": self._output_cap,
                }
                items.append(("other", note, None))
                terminal.output.dropped = 0
            if items:
                await self._record_batch(
                    terminal.account_id, terminal.sandbox_id, items, session_id=session_id
                )

    # ------------------------------------------------------------------ timer

    async def tick(self) -> None:
        """One round of time-based rules (the timer calls it; tests may too).

        Ends sessions idle past their sandbox's idle timeout (those whose agent
        is not connected here), raises agent-stuck alerts, and runs the budget
        guard on running sandboxes, whose compute cost grows with time.
        """
        now = self._now_us()
        for row in await self._db.run(sessions.sessions_to_end):
            info = await self._hooks.sandbox_info(row.sandbox_id) if row.sandbox_id else None
            timeout = info.idle_timeout if info else DEFAULT_IDLE_TIMEOUT
            if row.origin == sessions.MANUAL:
                timeout = sessions.MANUAL_IDLE_SECONDS
            idle_us = now - row.last_activity
            if row.id not in self._live and timeout > 0 and idle_us >= timeout * 1_000_000:
                await self._end(row.id, failed=False, reason="idle timeout")
                continue
            await self._engine.check_stuck(row)
        for sandbox_id in list(await self._hooks.running_sandboxes()):
            await self._engine.check_budget(sandbox_id)
