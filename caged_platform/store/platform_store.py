"""``platform.db``: keys, socket tickets, sandboxes, their logs, snapshots, settings.

Opened through the platform's one SQLite layer (:class:`~.db.Database`: WAL,
``synchronous=FULL``, one thread, the migration ledger). Timestamps are stored
as integer microseconds (:mod:`.timestamps`); rows read through :class:`Store`
carry them as aware ``datetime`` values again, and datetimes given to it are
converted, so callers never see the stored form. Jobs run in submission order,
which is what lets :meth:`Store.append_log` answer before its commit and still
be seen by every later query.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from .db import Database, transaction
from .ledger import Migration
from .timestamps import from_us, now_us, to_us

__all__ = ["MIGRATIONS", "Row", "Store"]

Row = dict[str, Any]
T = TypeVar("T")

_log = logging.getLogger(__name__)
_INSERT_LOG = "INSERT INTO logs (sandbox_id, timestamp, type, message) VALUES (?, ?, ?, ?)"

# Version 1. Its timestamps were ISO 8601 text; version 3 made them INTEGER.
_INITIAL = """
    CREATE TABLE keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used TEXT,
        revoked_at TEXT
    );
    CREATE TABLE tickets (
        ticket_hash TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES keys(id),
        expires_at TEXT NOT NULL,
        used INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE sandboxes (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        template TEXT NOT NULL,
        cpus INTEGER NOT NULL,
        memory_mb INTEGER NOT NULL,
        disk_gb INTEGER NOT NULL,
        network_mode TEXT NOT NULL,
        allowlist TEXT NOT NULL DEFAULT '[]',
        repo_url TEXT,
        budget REAL,
        init_script TEXT,
        timeout INTEGER NOT NULL,
        config TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        stopped_at TEXT,
        compute_seconds REAL NOT NULL DEFAULT 0,
        running_since TEXT,
        last_activity_at TEXT,
        last_error TEXT
    );
    CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sandbox_id TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX logs_by_sandbox ON logs (sandbox_id, id);
    CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        sandbox_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        status TEXT NOT NULL,
        trigger TEXT NOT NULL,
        size_bytes INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        completed_at TEXT
    );
    CREATE INDEX snapshots_by_sandbox ON snapshots (sandbox_id, created_at);
"""

_SETTINGS = """
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
"""

#: Columns holding a timestamp, in any table (stored as integer microseconds).
_TIMESTAMPS = frozenset(
    {
        "created_at", "last_used", "revoked_at", "expires_at", "started_at", "stopped_at",
        "running_since", "last_activity_at", "timestamp", "completed_at",
    }
)  # fmt: skip


def _iso_to_us(value: str | int | None) -> int | None:
    if isinstance(value, str):
        return to_us(datetime.fromisoformat(value))
    return value  # NULL stays NULL


def _timestamps_as_integers(conn: sqlite3.Connection) -> None:
    """Version 3: every table as before, but its timestamp columns INTEGER (a TEXT column
    would turn the integers back into text), the ISO text converted."""
    conn.create_function("iso_to_us", 1, _iso_to_us, deterministic=True)
    retype = re.compile(rf"\b({'|'.join(sorted(_TIMESTAMPS))})\s+TEXT\b")
    # Every definition is read before anything changes.
    tables = {
        name: ddl
        for name, ddl in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        if name not in ("sqlite_sequence", "migrations", "settings")
    }
    indexes = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    ]
    for table, definition in tables.items():
        # SQLite's own recipe: build new_<table>, copy, drop the old one, rename the new
        # one. Renaming an old table instead would rewrite the REFERENCES of the others.
        # Foreign keys are not enforced while migrating (Database switches them on after).
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        values = [f"iso_to_us({c})" if c in _TIMESTAMPS else c for c in columns]
        ddl = retype.sub(r"\1 INTEGER", definition)
        conn.execute(ddl.replace(f"CREATE TABLE {table} ", f"CREATE TABLE new_{table} ", 1))
        conn.execute(
            f"INSERT INTO new_{table} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM {table}"
        )
        conn.execute(f"DROP TABLE {table}")  # and its indexes, made again below
        conn.execute(f"ALTER TABLE new_{table} RENAME TO {table}")
    for index in indexes:
        conn.execute(index)
    if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
        raise RuntimeError("platform.db: converting timestamps broke a foreign key")


#: Schema steps; index + 1 is the version each one brings the database to.
MIGRATIONS: tuple[Migration, ...] = (
    Migration("keys, tickets, sandboxes, logs, snapshots", _INITIAL),
    Migration("settings", _SETTINGS),
    Migration("timestamps as integer microseconds", _timestamps_as_integers),
)

# Tables and the columns callers may write through the generic helpers; checked so
# that a column name never comes from anywhere but this module.
_COLUMNS: dict[str, frozenset[str]] = {
    "keys": frozenset(
        {"id", "name", "prefix", "secret_hash", "scope", "created_at", "last_used", "revoked_at"}
    ),
    "sandboxes": frozenset(
        {
            "id",
            "status",
            "template",
            "cpus",
            "memory_mb",
            "disk_gb",
            "network_mode",
            "allowlist",
            "repo_url",
            "budget",
            "init_script",
            "timeout",
            "config",
            "created_at",
            "started_at",
            "stopped_at",
            "compute_seconds",
            "running_since",
            "last_activity_at",
            "last_error",
        }
    ),
    "snapshots": frozenset(
        {
            "id",
            "sandbox_id",
            "name",
            "description",
            "status",
            "trigger",
            "size_bytes",
            "created_at",
            "completed_at",
        }
    ),
}


def _checked(table: str, columns: Iterable[str]) -> list[str]:
    allowed = _COLUMNS[table]
    names = list(columns)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ValueError(f"unknown columns for {table}: {unknown}")
    return names


def _adapt(value: Any) -> Any:
    return to_us(value) if isinstance(value, datetime) else value


def _row(row: sqlite3.Row) -> Row:
    """A stored row as callers see it: timestamps as datetimes."""
    found = dict(row)
    for name, value in found.items():
        if name in _TIMESTAMPS and value is not None:
            found[name] = from_us(value)
    return found


def _report_log_failure(future: Future[None]) -> None:
    if not future.cancelled() and (err := future.exception()) is not None:
        _log.error("committing queued log entries failed", exc_info=err)


class Store:
    """The platform's database; open it with :meth:`open`, close with :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = Database(path, MIGRATIONS, foreign_keys=True)
        # Log entries appended but not yet committed, and whether a job to commit them is
        # queued; shared with the store's thread, hence the lock.
        self._log_lock = threading.Lock()
        self._log_queue: list[tuple[str, int, str, str]] = []
        self._log_flush_queued = False

    # ------------------------------------------------------------------ plumbing

    async def open(self) -> None:
        """Open the file and bring the schema up to date."""
        await self._db.open()

    async def close(self) -> None:
        """Commit queued log entries, close the connection and stop the thread."""
        await self._db.close()

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the store's thread and return its result."""
        return await self._db.run(fn)

    async def _all(self, sql: str, params: tuple[Any, ...]) -> list[Row]:
        def run(conn: sqlite3.Connection) -> list[Row]:
            return [_row(r) for r in conn.execute(sql, params).fetchall()]

        return await self.call(run)

    async def _one(self, sql: str, params: tuple[Any, ...]) -> Row | None:
        rows = await self._all(sql, params)
        return rows[0] if rows else None

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run one write statement; returns the number of rows it changed."""
        return await self.call(lambda conn: conn.execute(sql, params).rowcount)

    async def insert(self, table: str, row: Row) -> None:
        """Insert ``row`` into ``table`` (one of keys, sandboxes, snapshots)."""
        names = _checked(table, row)
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        await self._execute(sql, tuple(_adapt(row[n]) for n in names))

    async def update(self, table: str, row_id: str, **fields: Any) -> int:
        """Set ``fields`` on the row of ``table`` with id ``row_id``."""
        names = _checked(table, fields)
        assignments = ", ".join(f"{n} = ?" for n in names)
        params = (*(_adapt(fields[n]) for n in names), row_id)
        return await self._execute(f"UPDATE {table} SET {assignments} WHERE id = ?", params)

    async def get(self, table: str, row_id: str) -> Row | None:
        """The row of ``table`` with id ``row_id``, or None."""
        _checked(table, ())
        return await self._one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    async def delete(self, table: str, row_id: str) -> bool:
        """Delete the row of ``table`` with id ``row_id``; whether it existed."""
        _checked(table, ())
        return await self._execute(f"DELETE FROM {table} WHERE id = ?", (row_id,)) > 0

    async def setting(self, name: str, make: Callable[[], str]) -> str:
        """A persistent install-wide value, created with ``make()`` the first time."""

        def run(conn: sqlite3.Connection) -> str:
            with transaction(conn):
                conn.execute(
                    "INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)", (name, make())
                )
                row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
                return str(row["value"])

        return await self.call(run)

    # ------------------------------------------------------------------ keys and tickets

    async def keys_with_prefix(self, prefix: str, *, revoked_too: bool = False) -> list[Row]:
        """Keys whose displayed prefix is ``prefix``: live ones, or all with ``revoked_too``."""
        live = "" if revoked_too else " AND revoked_at IS NULL"
        return await self._all(f"SELECT * FROM keys WHERE prefix = ?{live}", (prefix,))

    async def live_keys(self) -> list[Row]:
        """Every key not revoked, oldest first."""
        return await self._all(
            "SELECT * FROM keys WHERE revoked_at IS NULL ORDER BY created_at, id", ()
        )

    async def add_ticket(self, ticket_hash: str, key_id: str, expires_at: datetime) -> None:
        """Record a socket ticket for ``key_id``; purges expired ones on the way."""
        now = now_us()

        def run(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                conn.execute("DELETE FROM tickets WHERE expires_at < ?", (now,))
                conn.execute(
                    "INSERT INTO tickets (ticket_hash, key_id, expires_at) VALUES (?, ?, ?)",
                    (ticket_hash, key_id, to_us(expires_at)),
                )

        await self.call(run)

    async def consume_ticket(self, ticket_hash: str) -> str | None:
        """Use a ticket up: the key id it was issued for, or None if unknown/used/expired."""
        now = now_us()

        def run(conn: sqlite3.Connection) -> str | None:
            with transaction(conn):
                changed = conn.execute(
                    "UPDATE tickets SET used = 1 "
                    "WHERE ticket_hash = ? AND used = 0 AND expires_at >= ?",
                    (ticket_hash, now),
                ).rowcount
                if changed != 1:
                    return None
                row = conn.execute(
                    "SELECT key_id FROM tickets WHERE ticket_hash = ?", (ticket_hash,)
                ).fetchone()
                return str(row["key_id"])

        return await self.call(run)

    # ------------------------------------------------------------------ sandboxes

    async def sandboxes(self, *, statuses: Iterable[str] | None = None) -> list[Row]:
        """Sandboxes, newest first; only those in ``statuses`` when given."""
        if statuses is None:
            return await self._all("SELECT * FROM sandboxes ORDER BY created_at DESC", ())
        wanted = tuple(statuses)
        marks = ", ".join("?" for _ in wanted)
        return await self._all(
            f"SELECT * FROM sandboxes WHERE status IN ({marks}) ORDER BY created_at DESC", wanted
        )

    # ------------------------------------------------------------------ logs

    async def add_log(self, sandbox_id: str, kind: str, message: str) -> None:
        """Append a log entry for a sandbox, stamped now; returns once it is committed."""
        await self._execute(_INSERT_LOG, (sandbox_id, now_us(), kind, message))

    def append_log(self, sandbox_id: str, kind: str, message: str) -> None:
        """Append a log entry for a sandbox, stamped now, committed in the background.

        For entries written on a latency-sensitive path (exec): returns at once. The
        entry is committed (``synchronous=FULL``) by the store's thread, together with
        every entry appended meanwhile, in one transaction that runs before any query
        submitted after this call, so every later read sees it. What this does not
        promise is surviving a SIGKILL that lands before that commit (well under a
        millisecond on an idle store); :meth:`close` commits what is queued.
        """
        if not self._db.is_open:
            raise RuntimeError("the store is not open")
        entry = (sandbox_id, now_us(), kind, message)
        with self._log_lock:
            self._log_queue.append(entry)
            if self._log_flush_queued:
                return  # the queued job has not taken the queue yet: it will take this too
            self._log_flush_queued = True
        future = self._db.submit(self._commit_logs)
        future.add_done_callback(_report_log_failure)

    def _commit_logs(self, conn: sqlite3.Connection) -> None:
        with self._log_lock:
            entries, self._log_queue = self._log_queue, []
            self._log_flush_queued = False
        with transaction(conn):  # one transaction, so one sync, for the lot
            conn.executemany(_INSERT_LOG, entries)

    async def tail_logs(self, sandbox_id: str, tail: int) -> list[Row]:
        """The last ``tail`` log entries of a sandbox, oldest first."""
        rows = await self._all(
            "SELECT timestamp, type, message FROM logs WHERE sandbox_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (sandbox_id, tail),
        )
        rows.reverse()
        return rows

    # ------------------------------------------------------------------ snapshots

    async def snapshots_of(self, sandbox_id: str) -> list[Row]:
        """Snapshots of a sandbox, newest first."""
        return await self._all(
            "SELECT * FROM snapshots WHERE sandbox_id = ? ORDER BY created_at DESC, id DESC",
            (sandbox_id,),
        )

    async def snapshot_bytes(self) -> int:
        """Total size of every stored snapshot (the per-account quota)."""
        row = await self._one("SELECT COALESCE(SUM(size_bytes), 0) AS s FROM snapshots", ())
        return int(row["s"]) if row else 0
