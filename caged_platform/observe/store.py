"""The observe package's own SQLite database, ``observe.db`` in the data dir.

Kept apart from the server's store so the two schemas evolve independently.
One connection, owned by one dedicated thread: every query runs there (never on
the event loop) and, because that thread runs one job at a time, a job that
reads and then writes — allocating a session's next sequence numbers, say —
needs no further locking. WAL lets readers of the file elsewhere (``sqlite3``
CLI, backups) proceed during writes; ``synchronous=FULL`` makes a commit
durable before the caller is told the data was accepted.

Migrations are an append-only list; ``PRAGMA user_version`` records how many
have been applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

__all__ = ["EVENTS_SCHEMA", "MIGRATIONS", "Database", "transaction"]

P = ParamSpec("P")
T = TypeVar("T")

EVENTS_SCHEMA = """
    CREATE TABLE events (
        pk          INTEGER PRIMARY KEY,
        id          TEXT NOT NULL,
        account_id  TEXT NOT NULL,
        session_id  TEXT,                       -- NULL: an event outside any session
        sequence    INTEGER,
        sandbox_id  TEXT NOT NULL DEFAULT '',
        type        TEXT NOT NULL,
        ts          INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        duration_ms REAL,
        process_id  TEXT,
        meta        TEXT NOT NULL DEFAULT '{}',
        data        TEXT NOT NULL
    );
    CREATE UNIQUE INDEX events_id ON events(account_id, id);
    CREATE UNIQUE INDEX events_replay ON events(session_id, sequence);
    CREATE INDEX events_by_type ON events(session_id, type, sequence);
    CREATE INDEX events_recent ON events(account_id, type, received_at);
"""
"""The ``events`` table and its indexes (migration 1); the replay benchmark's SQLite
reference uses it too, so that both pay for the same index maintenance."""

#: Schema migrations, in order. Never edit one that has shipped; append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1 — the initial schema. Timestamps are integer microseconds since the epoch (UTC).
    """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        account_id    TEXT NOT NULL,
        sandbox_id    TEXT NOT NULL DEFAULT '',
        status        TEXT NOT NULL,            -- active | completed | failed
        origin        TEXT NOT NULL,            -- socket | ingest
        agent_type    TEXT,
        client        TEXT,
        model         TEXT,
        tokens_in     INTEGER NOT NULL DEFAULT 0,
        tokens_out    INTEGER NOT NULL DEFAULT 0,
        llm_cost      REAL NOT NULL DEFAULT 0,
        compute_base  REAL,                     -- sandbox compute cost when the session began
        compute_cost  REAL NOT NULL DEFAULT 0,  -- frozen when the session ends
        trust_score   INTEGER NOT NULL DEFAULT 100,
        trust_state   TEXT NOT NULL DEFAULT '{}',
        event_count   INTEGER NOT NULL DEFAULT 0,
        last_seq      INTEGER NOT NULL DEFAULT 0,
        started_at    INTEGER NOT NULL,
        last_activity INTEGER NOT NULL,         -- server clock, for idle timeouts
        first_ts      INTEGER,                  -- earliest event timestamp (client clock)
        last_ts       INTEGER NOT NULL DEFAULT 0,  -- latest event timestamp (client clock)
        ended_at      INTEGER,
        end_reason    TEXT,
        auto_paused   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sessions_account ON sessions(account_id, started_at);
    CREATE INDEX sessions_sandbox ON sessions(sandbox_id, started_at);
    CREATE INDEX sessions_status ON sessions(status);

""" + EVENTS_SCHEMA + """

    -- Events per (session, type), kept with the events: replay totals and summaries
    -- then cost a lookup instead of a count over a 100k-event session.
    CREATE TABLE session_types (
        session_id TEXT NOT NULL,
        type       TEXT NOT NULL,
        count      INTEGER NOT NULL,
        PRIMARY KEY (session_id, type)
    ) WITHOUT ROWID;

    CREATE TABLE deductions (
        pk         INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        rule       TEXT NOT NULL,
        points     INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        event_id   TEXT NOT NULL,
        sequence   INTEGER NOT NULL,
        ts         INTEGER NOT NULL
    );
    CREATE INDEX deductions_session ON deductions(session_id, pk);

    CREATE TABLE sandbox_usage (
        sandbox_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        llm_cost   REAL NOT NULL DEFAULT 0,
        tokens_in  INTEGER NOT NULL DEFAULT 0,
        tokens_out INTEGER NOT NULL DEFAULT 0
    );

    CREATE TABLE alert_rules (
        id         TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        type       TEXT NOT NULL,
        enabled    INTEGER NOT NULL,
        config     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (account_id, type)
    );

    CREATE TABLE alerts (
        pk          INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        account_id  TEXT NOT NULL,
        rule_id     TEXT NOT NULL,
        rule_type   TEXT NOT NULL,
        severity    TEXT NOT NULL,
        state       TEXT NOT NULL,
        title       TEXT NOT NULL,
        message     TEXT NOT NULL,
        sandbox_id  TEXT NOT NULL DEFAULT '',
        session_id  TEXT NOT NULL DEFAULT '',
        meta        TEXT NOT NULL DEFAULT '{}',
        dedupe_key  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE INDEX alerts_account ON alerts(account_id, pk);
    CREATE INDEX alerts_dedupe ON alerts(account_id, dedupe_key, state);

    CREATE TABLE notifications (
        pk             INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        account_id     TEXT NOT NULL,
        alert_id       TEXT,
        channel        TEXT NOT NULL,
        title          TEXT NOT NULL,
        message        TEXT NOT NULL,
        read           INTEGER NOT NULL DEFAULT 0,
        created_at     INTEGER NOT NULL,
        delivered      INTEGER,                 -- NULL while a delivery is in flight
        delivery_error TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX notifications_account ON notifications(account_id, pk);

    CREATE TABLE notification_config (
        account_id          TEXT PRIMARY KEY,
        enabled_channels    TEXT NOT NULL,
        slack_channel_id    TEXT NOT NULL DEFAULT '',
        email_address       TEXT NOT NULL DEFAULT '',
        slack_webhook_url   TEXT NOT NULL DEFAULT '',
        discord_webhook_url TEXT NOT NULL DEFAULT '',
        slack_bot_token     TEXT NOT NULL DEFAULT ''
    );
    """,
)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate(conn: sqlite3.Connection) -> None:
    applied = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if applied > len(MIGRATIONS):
        raise RuntimeError(
            f"observe.db is at schema version {applied}, newer than this code knows "
            f"({len(MIGRATIONS)}); refusing to touch it"
        )
    for version, script in enumerate(MIGRATIONS[applied:], start=applied + 1):
        # executescript commits first, so each migration and its version bump
        # run inside their own explicit transaction.
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")


class Database:
    """``observe.db``: one connection on one thread; :meth:`run` sends work there."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Create or open the file, switch on WAL and apply pending migrations."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="observe-db")
        await self._submit(self._connect)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The file holds webhook URLs, which are credentials: owner-only from the start.
        self.path.touch(mode=0o600, exist_ok=True)
        # isolation_level=None: transactions are explicit (see transaction()).
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        _migrate(conn)
        self._conn = conn

    async def _submit(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise RuntimeError("the observe database is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def run(
        self,
        fn: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(conn, *args, **kwargs)`` on the database thread and return its result."""

        def job() -> T:
            if self._conn is None:
                raise RuntimeError("the observe database is not open")
            return fn(self._conn, *args, **kwargs)

        return await self._submit(job)

    async def close(self) -> None:
        """Close the connection (after queued work has run) and stop the thread."""
        if self._executor is None:
            return

        def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        await self._submit(shut)
        self._executor.shutdown(wait=True)
        self._executor = None
