"""The platform's SQLite store: WAL + full sync, and migrations that upgrade in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caged_platform import store as store_module
from caged_platform.store import MIGRATIONS, Store

pytestmark = pytest.mark.integration


async def test_an_old_database_is_migrated_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "platform.db"
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:1])
    old = Store(path)
    await old.open()
    await old.insert(
        "keys",
        {"id": "key-1", "name": "n", "prefix": "p", "secret_hash": "h", "scope": "full",
         "created_at": "2026-01-01T00:00:00+00:00"},
    )
    await old.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)

    current = Store(path)
    await current.open()
    try:
        assert [r["id"] for r in await current.live_keys()] == ["key-1"]  # data kept
        first = await current.setting("secret", lambda: "a")
        assert first == "a" and await current.setting("secret", lambda: "b") == "a"
        assert await current.call(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 2
    finally:
        await current.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, len(MIGRATIONS) + 1))
