"""replay_fetch: paging through a 100 000-event session with ``client.sessions.replay``,
and single pages of a 1 000 000-event session.

The session is ingested once (untimed; 20 000 events with ``--quick``), then
read back whole, 1000 events per page (the contract's maximum), through our
client: HTTP, the platform's query (a select of each event's JSON, which SQLite
wrote when the event was stored), the bytes, and the client's strictly
validated models, until the last event is in hand. The client asks for each next
page (named by the answer's ``Link: rel="next"``) before it parses the one in
hand, so with a second core free the platform's read overlaps the client's
parse; on a busy box it cannot, and the ratio shows it.

Reference: ``sqlite3`` selecting the same rows in the same pages
(``session_id = ? AND sequence > ? ORDER BY sequence LIMIT 1000``, every
column, ``fetchall``) from a table with the platform's schema and its
``(session_id, sequence)`` index, in the benchmark's own process. It is the
right yardstick because it is the cost of having the data at all — the rows
read from the same kind of file through the same index into Python values,
with no server, socket, JSON or validation; everything above it is what the
API adds. Target: ≤ 3x (the replay screen adds first paint and step times).

The large case ingests 1 000 000 events into one session (100 000 with
``--quick``; untimed) and times 200 pages of 1000 at random places, each one
``client.sessions.replay`` call: a page must cost the same at the start or the
end of a huge session. Target: p99 ≤ 20 ms, absolute (the replay screen fetches
a page per jump); the same selects in SQLite are context.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks._common import CONTEXT, Context, Row, ainterleave, at_most, median, percentile
from benchmarks._events import (
    insert_reference,
    make_events,
    new_session_id,
    open_reference,
    reference_rows,
)
from caged_core.client import AsyncCaged

PAGE = 1000
_SELECT = "SELECT * FROM events WHERE session_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"


async def _read_all(caged: AsyncCaged, session_id: str, count: int) -> float:
    started = time.perf_counter()
    seen = 0
    async for _ in caged.sessions.replay(session_id, limit=PAGE):
        seen += 1
    elapsed = time.perf_counter() - started
    if seen != count:
        raise RuntimeError(f"replay returned {seen} events, expected {count}")
    return elapsed


def _select_all(conn: sqlite3.Connection, session_id: str, count: int) -> float:
    started = time.perf_counter()
    cursor, seen = 0, 0
    while True:
        rows = conn.execute(_SELECT, (session_id, cursor, PAGE)).fetchall()
        seen += len(rows)
        if len(rows) < PAGE:
            break
        cursor = rows[-1][4]  # the sequence column
    elapsed = time.perf_counter() - started
    if seen != count:
        raise RuntimeError(f"reference selected {seen} rows, expected {count}")
    return elapsed


async def _ingest(context: Context, caged: AsyncCaged, conn: sqlite3.Connection, count: int) -> str:
    """A new session of ``count`` events, in the platform and in the reference table."""
    session_id = new_session_id()
    context.log(f"replay_fetch: ingesting {count:,} events (untimed)")
    for first in range(0, count, PAGE):
        events = make_events(session_id, min(PAGE, count - first), first=first)
        await caged.events.ingest(events)
        insert_reference(conn, list(reference_rows(events, first=first)))
    return session_id


async def _measure(context: Context, count: int, rounds: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="caged-bench-") as tmp:
        conn = open_reference(Path(tmp) / "reference.db")
        try:
            async with context.platform.client() as caged:
                session_id = await _ingest(context, caged, conn, count)

                async def ours() -> float:
                    return await _read_all(caged, session_id, count)

                async def reference() -> float:
                    return _select_all(conn, session_id, count)

                return await ainterleave(ours, reference, rounds)
        finally:
            conn.close()


async def _measure_pages(
    context: Context, count: int, pages: int
) -> tuple[list[float], list[float]]:
    places = random.Random(13).sample(range(count), pages)
    with tempfile.TemporaryDirectory(prefix="caged-bench-") as tmp:
        conn = open_reference(Path(tmp) / "reference.db")
        try:
            async with context.platform.client() as caged:
                session_id = await _ingest(context, caged, conn, count)
                ours, ref = [], []
                for after in places:
                    started = time.perf_counter()
                    page = await caged.sessions.replay(session_id, after_seq=after, limit=PAGE)
                    ours.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    rows = conn.execute(_SELECT, (session_id, after, PAGE)).fetchall()
                    ref.append(time.perf_counter() - started)
                    if len(page) != len(rows):
                        raise RuntimeError(f"after {after}: {len(page)} events, {len(rows)} rows")
                return ours, ref
        finally:
            conn.close()


def run(context: Context) -> list[Row]:
    """Whole-session replay read time vs paged SQLite selects."""
    count = context.pick(20_000, 100_000)
    rounds = context.pick(2, 3)
    ours, ref = asyncio.run(_measure(context, count, rounds))
    return [
        Row(
            "replay_fetch",
            f"read {count:,} events, pages of {PAGE}",
            "s",
            median(ours),
            median(ref),
            at_most(3, "≤ 3x sqlite"),
            note=f"ours {count / median(ours):,.0f} events/s",
            samples={"ours_s": ours, "reference_s": ref},
        ),
        *_large(context),
    ]


def _large(context: Context) -> list[Row]:
    """Page latency deep inside a huge session."""
    count = context.pick(100_000, 1_000_000)
    pages = 200
    ours, ref = asyncio.run(_measure_pages(context, count, pages))
    return [
        Row(
            "replay_fetch",
            f"page of {PAGE} in a {count:,}-event session p99 ({pages} pages)",
            "ms",
            percentile(ours, 99) * 1e3,
            percentile(ref, 99) * 1e3,
            at_most(20, "p99 ≤ 20 ms"),
            judged="ours",
            samples={"ours_s": ours, "reference_s": ref},
        ),
        Row(
            "replay_fetch",
            f"page of {PAGE} in a {count:,}-event session p50",
            "ms",
            median(ours) * 1e3,
            median(ref) * 1e3,
            CONTEXT,
            judged="ours",
        ),
    ]
