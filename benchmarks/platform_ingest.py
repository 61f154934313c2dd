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


async def _measure(context: Context, count: int, rounds: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory(prefix="caged-bench-") as tmp:
        async with context.platform.client() as caged:

            async def ours() -> float:
                return await _ingest(caged, count)

            async def reference() -> float:
                return _reference(Path(tmp), count)

            return await ainterleave(ours, reference, rounds)


def run(context: Context) -> list[Row]:
    """Ingest rate vs a bare SQLite transaction."""
    count = context.pick(20_000, 100_000)
    rounds = context.pick(2, 3)
    ours, ref = asyncio.run(_measure(context, count, rounds))
    return [
        Row("platform_ingest", f"events/s, {count:,} in batches of {BATCH}", "ev/s",
            median(ours), median(ref), at_least(0.3, "≥ 0.3x sqlite"),
            samples={"ours_ev_s": ours, "reference_ev_s": ref}),
    ]
