"""platform_ingest: events per second accepted by ``client.events.ingest``, batches of 1000.

100 000 command events (20 000 with ``--quick``) of a new session each run are
sent through our client to the local platform, which validates them, stores
them (SQLite, WAL, synchronous=FULL), numbers them per session and runs its
trust/alert rules on them.

Reference: ``sqlite3`` inserting the same rows, already encoded, into a table
with the platform's schema and indexes, in one transaction. That is the
storage floor any ingest path on this machine must pay; HTTP, JSON, validation
and the rules are the platform's own overhead. Target: ≥ 0.3x the reference
rate.

The concurrent case sends the same number of events from 8 clients at once
(each its own connection and session, one process), then sends every client's
last batch again, as a client retrying after a lost answer would, and checks
that each session holds exactly its events, numbered 1..n: the rate must hold
without losing or duplicating an event. Same reference and target.

What stands in the way (issue 13, profiled 5 Dec 2026 on the shared 2-core box,
load 7-10, so by CPU time, not wall time: the client's process CPU and the
server's from /proc over 30,000 events, against the reference's CPU in the same
run, 8.1-8.7 us an event). The one-client case is a ping-pong, so its ratio is
about the reference's CPU over the sum of both sides': 0.17 before (client 8.7 us,
server 38.7 us an event) and 0.22 after (client 8.6 us, server 28 us). Kept: no
frozen dataclass per event (7.8 of the 10.5 us of validating one), the trust
rules' Observed only for events a rule may concern, the request depth check on
the UTF-8 bytes (4.2 -> 0.6 ms a batch), each event's replay JSON written in
Python instead of by SQLite's printf/strftime (INSERT 10.5 -> 7.2 ms a batch),
start-up's objects frozen out of the collector (full collections: 191 -> 39 ms
over 92 batches), and a 0.5 ms GIL switch interval (sqlite3 lets go of the GIL
around each row: a writer waited up to 5 ms a row while the loop parsed another
request; 8 clients ~+25 %). What is left of the server's 28 us: SQLite 9.5 (the
insert and its four indexes 7.2, the commit of each batch 1.4, the one IN (...)
lookup of retried ids 0.9), the body's json.loads with its collections ~3,
validating each event 3.2, append_events' Python 6.5 (trust rules 2.5, replay
JSON 1, sequence, sessions, rows 3), HTTP, the loop and the round trip to the
database thread ~5; of the client's 8.6 us: pydantic validating and dumping one model per event 3.3,
httpx and asyncio the rest. Tried and dropped: INSERT ... SELECT FROM
json_each(?) (SQLite 3.40 here: 14 us a row of CPU against executemany's 8.9,
its only gain one GIL release a batch instead of one a row); pydantic_core's
from_json for the body (1.36 -> 1.14 ms a batch, not worth the edge cases where
it differs); a cached-session fast path in append_events (no difference measurable
here). 0.3x needs both sides within ~28 us an event, the server within ~19: no
per-event Python beyond a few microseconds, i.e. the body validated and its rows
extracted by compiled code (SQLite's JSONB, 3.45+, or a compiled validator).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks._common import Context, Row, ainterleave, at_least, median
from benchmarks._events import (
    insert_reference,
    make_events,
    new_session_id,
    open_reference,
    reference_rows,
)
from caged_core.client import AsyncCaged

BATCH = 1000
CLIENTS = 8


async def _ingest(caged: AsyncCaged, count: int) -> float:
    events = make_events(new_session_id(), count)
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        result = await caged.events.ingest(events[start : start + BATCH])
        if result.errors:
            raise RuntimeError(f"ingest refused events: {result.messages[:3]}")
    return count / (time.perf_counter() - started)


def _reference(directory: Path, count: int) -> float:
    rows = list(reference_rows(make_events(new_session_id(), count)))
    conn = open_reference(directory / "reference.db")
    try:
        started = time.perf_counter()
        insert_reference(conn, rows)
        return count / (time.perf_counter() - started)
    finally:
        conn.close()


async def _concurrently(context: Context, count: int) -> float:
    share = count // CLIENTS
    sessions = [new_session_id() for _ in range(CLIENTS)]
    clients = [context.platform.client() for _ in range(CLIENTS)]
    try:

        async def send(caged: AsyncCaged, session_id: str) -> None:
            events = make_events(session_id, share)
            for start in range(0, share, BATCH):
                result = await caged.events.ingest(events[start : start + BATCH])
                if result.errors:
                    raise RuntimeError(f"ingest refused events: {result.messages[:3]}")

        started = time.perf_counter()
        await asyncio.gather(*(send(c, s) for c, s in zip(clients, sessions, strict=True)))
        rate = CLIENTS * share / (time.perf_counter() - started)
        for caged, session_id in zip(clients, sessions, strict=True):
            events = make_events(session_id, share)
            await caged.events.ingest(events[-BATCH:])  # a retry: acknowledged, not stored
            summary = await caged.sessions.replay_summary(session_id)
            last = await caged.sessions.replay(session_id, after_seq=share - 1, limit=BATCH)
            if summary.event_count != share or [e.sequence for e in last] != [share]:
                raise RuntimeError(
                    f"session {session_id}: {summary.event_count} events stored of {share}"
                )
        return rate
    finally:
        for caged in clients:
            await caged.aclose()


async def _measure(
    context: Context, count: int, rounds: int, *, concurrent: bool
) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="caged-bench-") as tmp:
        async with context.platform.client() as caged:

            async def ours() -> float:
                if concurrent:
                    return await _concurrently(context, count)
                return await _ingest(caged, count)

            async def reference() -> float:
                return _reference(Path(tmp), count)

            return await ainterleave(ours, reference, rounds)


def run(context: Context) -> list[Row]:
    """Ingest rate vs a bare SQLite transaction."""
    count = context.pick(20_000, 100_000)
    rounds = context.pick(2, 3)
    rows = []
    for concurrent in (False, True):
        ours, ref = asyncio.run(_measure(context, count, rounds, concurrent=concurrent))
        who = f", {CLIENTS} clients at once" if concurrent else ""
        rows.append(
            Row(
                "platform_ingest",
                f"events/s, {count:,} in batches of {BATCH}{who}",
                "ev/s",
                median(ours),
                median(ref),
                at_least(0.3, "≥ 0.3x sqlite"),
                samples={"ours_ev_s": ours, "reference_ev_s": ref},
            )
        )
    return rows
