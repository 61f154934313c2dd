"""Events for the ingest and replay benchmarks, and the SQLite reference they are held to.

The reference table is the local platform's own ``events`` table and indexes
(``EVENTS_SCHEMA`` of ``caged_platform/observe/store.py``), so the reference
does the same index maintenance and lookups the platform must.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caged_platform.observe.store import EVENTS_SCHEMA

REFERENCE_SCHEMA = EVENTS_SCHEMA

_COMMANDS = ("ls -la /workspace", "pytest -q", "git status", "cat README.md", "pip install -e .")
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def make_events(session_id: str, count: int, *, first: int = 0) -> list[dict[str, Any]]:
    """``count`` command events of one session, with distinct ids and ascending timestamps
    (the ``first``-th to the ``first + count - 1``-th of a series)."""
    return [
        {
            "id": f"ev-{session_id}-{i}",
            "type": "command",
            "timestamp": (_EPOCH + timedelta(milliseconds=i)).isoformat(),
            "session_id": session_id,
            "payload": {"command": _COMMANDS[i % len(_COMMANDS)], "exit_code": i % 3, "n": i},
        }
        for i in range(first, first + count)
    ]


def reference_rows(events: list[dict[str, Any]], *, first: int = 0) -> Iterator[tuple[Any, ...]]:
    """The rows the platform stores for ``events`` (JSON encoded, sequence numbered; the
    first of them is the ``first``-th event of its session)."""
    received = time.time_ns() // 1000
    for sequence, event in enumerate(events, start=first + 1):
        ts = int(datetime.fromisoformat(event["timestamp"]).timestamp() * 1_000_000)
        yield (
            event["id"],
            "acct",
            event["session_id"],
            sequence,
            "",
            event["type"],
            ts,
            received,
            None,
            None,
            "{}",
            json.dumps(event["payload"]),
        )


def open_reference(path: Path) -> sqlite3.Connection:
    """A fresh reference database in WAL mode with full sync, as the platform runs its own."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # the platform's durability setting
    conn.executescript(REFERENCE_SCHEMA)
    return conn


def insert_reference(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` in one transaction."""
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO events (id, account_id, session_id, sequence, sandbox_id, type, ts,"
        " received_at, duration_ms, process_id, meta, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")


def new_session_id() -> str:
    """A session id no earlier run used."""
    return f"bench-{uuid.uuid4().hex[:12]}"
