"""Observability for the local Caged platform — events, sessions, replay, trust, alerts.

README
======

A framework-free package: :class:`Observer` coordinates everything that writes
(ingest, recordings, terminal and MCP sessions, the rules they trip); the read
side is :class:`SessionViews`, :class:`Alerts` and :class:`Notifications`, which
the routes call directly (HTTP routes stay in the server). It keeps its own SQLite database,
``<data dir>/observe.db`` (WAL, ``synchronous=FULL``, versioned migrations; all
queries on one dedicated thread, never on the event loop).

Pipeline::

    ingest / record ──► events (validated, capped) ──► sessions (sequence, tokens, costs)
                                                  ├─► trust rules ──► deductions, score
                                                  └─► alert rules ──► alerts ──► notifications
                                                                               (in-app, Slack,
                                                                                Discord, email)

Events (:mod:`.events`)
    ``POST /events/ingest`` takes at most 1000 events; each is validated on its own
    (a bad one is counted in ``errors`` with a message, the rest are stored).
    ``data`` is accepted as ``payload``; unknown types are stored as ``other``
    (original in ``meta["original_type"]``); a missing timestamp is an error; a
    payload over **64 KiB** (compact JSON) is refused. Re-sending an event with an
    ``id`` already stored is acknowledged but not stored twice. An event naming
    another account's sandbox is refused. Durability: the ``200`` answer (the
    acknowledgement) is sent only after the batch's one transaction committed
    (WAL, ``synchronous=FULL``), so a ``kill -9`` or power cut after it loses
    nothing; a batch in flight is stored whole or not at all. The platform's own
    exec events (``record_soon``) are the exception: committed just after the
    exec's answer, in the order queued.

Sessions (:mod:`.sessions`)
    Begin when an agent connects (terminal or MCP socket) or with the first
    ingested event of a new ``session_id``; end on disconnect, after the
    sandbox's idle timeout (ingested sessions), or when the sandbox is killed
    (``failed``). Tokens, LLM cost, compute cost (what the sandbox accrued while
    the session was open), total cost, event count and duration are derived from
    events in the same transaction that stores them.

Prices (:mod:`.pricing`)
    An ``llm_call``'s ``cost_usd`` when given, else tokens x the table below
    (USD per million tokens, input / output; dated names match their family by
    longest prefix; unknown models cost 0):

    ===========================================  =========  =========
    model                                        input      output
    ===========================================  =========  =========
    claude-opus-4, claude-4-opus, claude-3-opus  15.00      75.00
    claude-sonnet-4, claude-4(-sonnet),          3.00       15.00
    claude-3-7-sonnet, claude-3-5-sonnet
    claude-3-5-haiku, claude-haiku-3-5           0.80       4.00
    claude-3-haiku                               0.25       1.25
    gpt-4o / gpt-4o-mini                         2.50/0.15  10.00/0.60
    gpt-4.1 / -mini / -nano                      2.00/0.40  8.00/1.60
                                                 /0.10      /0.40
    o3 / o3-mini / o4-mini / o1                  2.00/1.10  8.00/4.40
                                                 /1.10/15   /4.40/60
    gemini-2.5-pro / 2.5-flash / 2.0-flash       1.25/0.30  10.00/2.50
                                                 /0.10      /0.40
    ===========================================  =========  =========

Replay (:mod:`.replay`)
    ``after_seq`` / ``limit`` ≤ 1000 / ``type``; ``{events, has_more, next_seq,
    total}``; pages read through the ``(session_id, sequence)`` index, each event's
    JSON text written once, when it is stored (:mod:`.event_json`). Terminal
    output is stored as ``other`` events ``{"kind": "terminal_output", "data",
    "offset"}`` (4096-character chunks, 8 MiB per session) and typed lines as ``command``
    events, so a terminal session replays as a recording (:mod:`.terminal`).

Trust rules (:mod:`.trust`) — every session starts at 100
    ===========================  ======
    ``curl … | sh`` and kin      -25
    modifying system files       -30
    reading /etc/passwd, shadow  -20
    network to an unknown host   -10 (once per host)
    installing unknown packages  -5 (once per package)
    deleting many files          -5 at 10, 25, 50 deletions; -10 for ``rm -r`` of a
                                 whole tree; at most -15
    ===========================  ======

    Each deduction is stored with the event (id and sequence) that caused it.
    Below 30 the sandbox is paused (``PlatformHooks.pause_sandbox``) and its log
    says why.

Alert defaults (:mod:`.alerts`) — one rule of each type per account
    ===================  =====================================================
    budget_exceeded      threshold_percent 80: warning at 80 %, critical at 95 %,
                         and at 100 % the sandbox is stopped (critical alert)
    cost_anomaly         multiplier_threshold 3 x the account's median session cost
    agent_stuck          idle_minutes 10 without events in an active session
    error_spike          error_count_threshold 5 within window_minutes 5
    trust_score_low      score_threshold 70
    ===================  =====================================================

    Evaluated as events arrive and every ``tick_seconds`` (30 s) for time-based
    conditions. One open alert per rule + subject (+ level).

Notifications (:mod:`.notify`)
    Each alert creates an ``in_app`` notification and is delivered to each other
    enabled channel: Slack / Discord incoming webhooks (retried with backoff;
    outcome kept on the notification), email when SMTP settings were given,
    otherwise recorded as not delivered with the reason. Stored credentials are
    only ever shown as ``...abcd`` hints.

Errors (:mod:`.errors`): :class:`NotFound` → 404, :class:`Invalid` → 400.

Wiring (what the server does)
    - Lifespan: ``Observer(data_dir, hooks=..., smtp=...)``; ``await start()`` /
      ``await close()``. ``PlatformHooks`` (all coroutines): ``sandbox_info``,
      ``running_sandboxes``, ``stop_sandbox``, ``pause_sandbox``, ``log``.
    - Terminal socket: ``open_session(account, sandbox, client=...)`` on accept;
      ``terminal_input(session, text)`` for each input frame (before writing it to
      the PTY); ``terminal_output(session, raw_bytes)`` for each PTY read;
      ``close_session(session)`` in ``finally``.
    - MCP socket: ``open_session(..., channel="mcp")`` / ``close_session``; each
      ``tools/call`` → ``record(..., "tool_call", {"name", "arguments", "is_error"},
      session_id=...)``; ``terminal_exec`` also → ``record(..., "command",
      {"command", "exit_code", "source": "mcp"}, duration_ms=...)``;
      ``filesystem_write``/``_delete`` → ``file_op``.
    - ``POST /sandboxes/{id}/exec`` → ``record(..., "command", {"command",
      "exit_code", "source": "exec"}, duration_ms=outcome.duration_ms)``; file
      writes via the API → ``file_op`` (``{"path", "kind": "write"|"delete",
      "source": "api"}``).
    - Each running cage: a task ``follow_file_changes(account, sandbox,
      runtime.watch_files(sandbox))``; ``runtime.on_network_refused(
      observer.network_refused)``; lifecycle changes → ``record(..., "lifecycle",
      {"action": "started"|"paused"|"resumed"|"stopped"|"destroyed"})``; a kill or
      destroy → ``end_sandbox_sessions(sandbox, failed=True, reason=...)``.
    - The Sandbox model's ``llm_cost`` is ``observer.llm_cost(sandbox_id)``.
"""

from __future__ import annotations

from .alerts import Alerts
from .errors import Invalid, NotFound, ObserveError
from .events import MAX_BATCH, MAX_PAYLOAD_BYTES
from .hooks import PlatformHooks, SandboxInfo
from .notify import DeliveryPolicy, Notifications, SmtpSettings
from .observer import Observer
from .session_views import SessionViews

__all__ = [
    "MAX_BATCH",
    "MAX_PAYLOAD_BYTES",
    "Alerts",
    "DeliveryPolicy",
    "Invalid",
    "NotFound",
    "Notifications",
    "ObserveError",
    "Observer",
    "PlatformHooks",
    "SandboxInfo",
    "SessionViews",
    "SmtpSettings",
]
