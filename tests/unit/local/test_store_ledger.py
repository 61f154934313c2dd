"""The one SQLite layer: every file opened the same way and migrated through one ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caged_platform.store import Database, Migration
from caged_platform.store.ledger import applied_versions


def _upper(conn: sqlite3.Connection) -> None:
    conn.execute("UPDATE things SET name = upper(name)")


_STEPS = (
    Migration("things", "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"),
    Migration("name upper", _upper),
)


async def _open(path: Path, steps: tuple[Migration, ...]) -> Database:
    db = Database(path, steps)
    await db.open()
    return db


async def test_steps_run_once_in_order_and_the_file_is_set_up(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = await _open(path, _STEPS[:1])
    await db.run(lambda conn: conn.execute("INSERT INTO things (name) VALUES ('a')"))
    await db.close()
    db = await _open(path, _STEPS)  # only the new step runs
    try:
        names = await db.run(
            lambda conn: [r["name"] for r in conn.execute("SELECT name FROM things")]
        )
        assert names == ["A"]
        pragmas = await db.run(
            lambda conn: (
                conn.execute("PRAGMA journal_mode").fetchone()[0],
                conn.execute("PRAGMA synchronous").fetchone()[0],
                conn.execute("PRAGMA busy_timeout").fetchone()[0],
            )
        )
        assert pragmas == ("wal", 2, 5000)  # WAL, FULL
        ledger = await db.run(
            lambda conn: [tuple(r) for r in conn.execute("SELECT version, name FROM migrations")]
        )
        assert ledger == [(1, "things"), (2, "name upper")]
    finally:
        await db.close()
    db = await _open(path, _STEPS)  # nothing left to run
    await db.close()
    assert path.stat().st_mode & 0o077 == 0


async def test_a_failing_step_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    broken = (*_STEPS, Migration("broken", "CREATE TABLE more (id INTEGER); SELECT nope FROM x;"))
    with pytest.raises(sqlite3.OperationalError):
        await _open(path, broken)
    with sqlite3.connect(path) as conn:
        assert applied_versions(conn) == [1, 2]
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'more'").fetchone() is None


@pytest.mark.parametrize("old_ledger", ["schema_version", "user_version"])
async def test_an_older_ledger_is_adopted(tmp_path: Path, old_ledger: str) -> None:
    path = tmp_path / "x.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute("INSERT INTO things (name) VALUES ('b')")
        if old_ledger == "schema_version":
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO schema_version VALUES (1)")
        else:
            conn.execute("PRAGMA user_version = 1")
    db = await _open(path, _STEPS)  # step 1 is not run again; step 2 is
    await db.close()
    with sqlite3.connect(path) as conn:
        assert applied_versions(conn) == [1, 2]
        assert conn.execute("SELECT name FROM things").fetchall() == [("B",)]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        assert (
            conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone()
            is None
        )


@pytest.mark.parametrize("old_ledger", [False, True])
async def test_a_newer_database_is_refused_untouched(tmp_path: Path, old_ledger: bool) -> None:
    path = tmp_path / "x.db"
    if old_ledger:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA user_version = 3")
    else:
        db = await _open(path, _STEPS)
        await db.close()
    with pytest.raises(RuntimeError, match="newer than this code knows"):
        await _open(path, _STEPS[:1])
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == (3 if old_ledger else 0)
        assert applied_versions(conn) == ([] if old_ledger else [1, 2])
