"""replay_fetch: paging through a 100 000-event session with ``client.sessions.iter_replay``.

The session is ingested once (untimed; 20 000 events with ``--quick``), then
read back whole, 1000 events per page (the contract's maximum), through our
client: HTTP, the platform's query, JSON and the client's models.

Reference: ``sqlite3`` selecting the same rows in the same pages
(``session_id = ? AND sequence > ? ORDER BY sequence LIMIT 1000``) from a table
with the platform's schema and its ``(session_id, sequence)`` index. It is the
cost of reading the data at all; everything above it is the API's. Target:
≤ 3x (the replay screen, when it exists, adds first paint and step times).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks._common import Context, Row, ainterleave, at_most, median
from benchmarks._events import (
    insert_reference,
    make_events,
    new_session_id,
    open_reference,
    reference_rows,
)
from caged_core.client import AsyncCaged

PAGE = 1000
_SELECT = (
    "SELECT * FROM events WHERE session_id = ? AND sequence > ? ORDER BY sequence LIMIT ?"
)


async def _read_all(caged: AsyncCaged, session_id: str, count: int) -> float:
    started = time.perf_counter()
    seen = 0
    async for _ in caged.sessions.iter_replay(session_id, limit=PAGE):
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


async def _measure(context: Context, count: int, rounds: int) -> tuple[list[float], list[float]]:
    session_id = new_session_id()
    events = make_events(session_id, count)
    with tempfile.TemporaryDirectory(prefix="caged-bench-") as tmp:
        conn = open_reference(Path(tmp) / "reference.db")
        try:
            insert_reference(conn, list(reference_rows(events)))
            async with context.platform.client() as caged:
                context.log(f"replay_fetch: ingesting {count:,} events (untimed)")
                for start in range(0, count, PAGE):
                    await caged.events.ingest(events[start : start + PAGE])

                async def ours() -> float:
                    return await _read_all(caged, session_id, count)

                async def reference() -> float:
                    return _select_all(conn, session_id, count)

                return await ainterleave(ours, reference, rounds)
        finally:
            conn.close()


def run(context: Context) -> list[Row]:
    """Whole-session replay read time vs paged SQLite selects."""
    count = context.pick(20_000, 100_000)
    rounds = context.pick(2, 3)
    ours, ref = asyncio.run(_measure(context, count, rounds))
    return [
        Row("replay_fetch", f"read {count:,} events, pages of {PAGE}", "s", median(ours),
            median(ref), at_most(3, "≤ 3x sqlite"),
            note=f"ours {count / median(ours):,.0f} events/s",
            samples={"ours_s": ours, "reference_s": ref}),
    ]
