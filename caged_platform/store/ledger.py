"""The migration ledger every database of the platform keeps: which schema steps ran.

A database's schema evolves through an append-only list of :class:`Migration`
steps; step ``i`` (from 1) brings it to version ``i``. Each step runs in its own
transaction together with its ledger row, so a failing step leaves the database
exactly at the previous version. Never edit a step that has shipped; append one.

The ledger is a table, ``migrations (version, name, applied_at)``, with
``applied_at`` in the platform's one timestamp format (:mod:`.timestamps`).
Data dirs written before it existed kept their versions in one of two older
ledgers — a ``schema_version`` table (``platform.db``) or ``PRAGMA
user_version`` (``observe.db``); the first open adopts those versions into the
ledger (``applied_at`` NULL: the moment is unknown) and clears the old ledger,
in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .timestamps import now_us

__all__ = ["Migration", "applied_versions", "migrate"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: a SQL script, or a function for what SQL alone cannot do
    (converting values). A function runs inside the step's transaction and must not
    commit; a script must not contain transaction statements."""

    name: str
    step: str | Callable[[sqlite3.Connection], None]


_LEDGER = """
    CREATE TABLE migrations (
        version    INTEGER PRIMARY KEY,
        name       TEXT NOT NULL,
        applied_at INTEGER              -- NULL: adopted from a ledger that kept no time
    )
"""


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


def _legacy_version(conn: sqlite3.Connection) -> int:
    """The version an older ledger recorded (0 for a new database)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if _has_table(conn, "schema_version"):
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        version = max(version, int(row[0] or 0))
    return version


def applied_versions(conn: sqlite3.Connection) -> list[int]:
    """The versions the ledger records, in order (empty before the first open)."""
    if not _has_table(conn, "migrations"):
        return []
    return [int(v) for (v,) in conn.execute("SELECT version FROM migrations ORDER BY version")]


def _check_known(version: int, migrations: Sequence[Migration], label: str) -> None:
    if version > len(migrations):
        raise RuntimeError(
            f"{label} is at schema version {version}, newer than this code knows "
            f"({len(migrations)}); refusing to touch it"
        )


def _current_version(conn: sqlite3.Connection, migrations: Sequence[Migration], label: str) -> int:
    """The database's version, creating the ledger (adopting an older one) if needed."""
    if _has_table(conn, "migrations"):
        row = conn.execute("SELECT MAX(version) FROM migrations").fetchone()
        return int(row[0] or 0)
    legacy = _legacy_version(conn)
    _check_known(legacy, migrations, label)  # before anything is changed
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_LEDGER)
        conn.executemany(
            "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, NULL)",
            [(v, migrations[v - 1].name) for v in range(1, legacy + 1)],
        )
        conn.execute("DROP TABLE IF EXISTS schema_version")
        conn.execute("PRAGMA user_version = 0")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return legacy


def _apply(conn: sqlite3.Connection, version: int, migration: Migration) -> None:
    step = migration.step
    try:
        if isinstance(step, str):
            # executescript commits whatever is pending, then runs the script as given:
            # the script opens the transaction itself, which stays open for the ledger row.
            conn.executescript(f"BEGIN IMMEDIATE;\n{step}")
        else:
            conn.execute("BEGIN IMMEDIATE")
            step(conn)
        conn.execute(
            "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (version, migration.name, now_us()),
        )
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], label: str) -> None:
    """Bring the database on ``conn`` (autocommit mode) up to ``len(migrations)``.

    Raises :class:`RuntimeError` for a database newer than ``migrations`` (``label``
    names it in the message), leaving it untouched.
    """
    current = _current_version(conn, migrations, label)
    _check_known(current, migrations, label)
    for version, migration in enumerate(migrations[current:], start=current + 1):
        _apply(conn, version, migration)
