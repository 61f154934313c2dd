"""Existing data dirs keep working: a data dir written before the platform's one SQLite
layer (two ledgers, ISO text timestamps in ``platform.db``) is served by
``python -m caged_platform serve`` with every row found, its key still accepted, and
both files on the one ledger afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from legacy_data_dir import (
    ALERT,
    EVENTS,
    LEGACY_KEY,
    LINK_SECRET,
    LOGS,
    NOTIFICATION,
    SANDBOX,
    SESSION,
    build_legacy_data_dir,
)

from caged_platform.observe.store import MIGRATIONS as OBSERVE_MIGRATIONS
from caged_platform.store import MIGRATIONS

pytestmark = pytest.mark.integration


def _ledger(path: Path) -> tuple[list[int], int, bool]:
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM migrations ORDER BY 1")]
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        old_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"
        ).fetchone()
    return versions, user_version, old_table is not None


def _check_platform_rows(client: httpx.Client) -> None:
    sandbox = client.get(f"/v1/sandboxes/{SANDBOX}").json()
    assert sandbox["status"] == "stopped"
    assert sandbox["created_at"].startswith("2026-03-01T10:00:00.123456")
    assert sandbox["stopped_at"].startswith("2026-03-01T10:05:00.5")
    logs = client.get(f"/v1/sandboxes/{SANDBOX}/logs").json()
    assert [(e["type"], e["message"]) for e in logs][:2] == [(t, m) for _, t, m in LOGS]
    assert logs[0]["timestamp"].startswith("2026-03-01T10:00:01.25")
    [snapshot] = client.get(f"/v1/sandboxes/{SANDBOX}/snapshots").json()
    assert (snapshot["id"], snapshot["size_bytes"]) == ("snap-legacy", 1234)
    keys = {k["id"]: k for k in client.get("/v1/account/keys").json()}
    assert keys["key-legacy"]["created_at"].startswith("2026-03-01T10:00:00.123456")
    # Tickets still reference the keys table (a rebuilt table keeps its foreign keys).
    assert client.post("/v1/auth/socket-ticket").status_code == 201


def _check_observe_rows(client: httpx.Client) -> None:
    session = client.get(f"/v1/sessions/{SESSION}").json()
    assert (session["status"], session["trust_score"]) == ("completed", 90)
    replay = client.get(f"/v1/sessions/{SESSION}/replay").json()
    assert [e["id"] for e in replay["events"]] == [event_id for event_id, _, _ in EVENTS]
    assert replay["events"][0]["timestamp"].startswith("2026-03-01T10:01:00")
    [trust] = client.get(f"/v1/trust/sandboxes/{SANDBOX}").json()
    assert [d["reason"] for d in trust["deductions"]] == ["legacy deduction"]
    alerts = client.get("/v1/alerts").json()["alerts"]
    assert ALERT in {a["id"] for a in alerts}
    notes = client.get("/v1/notifications").json()["notifications"]
    assert NOTIFICATION in {n["id"] for n in notes}


def test_a_data_dir_from_before_the_one_store_layer_keeps_all_its_data(
    tmp_path: Path, platform_runner: Callable[..., AbstractContextManager[Any]]
) -> None:
    data_dir = tmp_path / "data"  # where platform_runner(tmp_path) serves from
    build_legacy_data_dir(data_dir)
    with platform_runner(tmp_path) as running:
        headers = {"Authorization": f"Bearer {LEGACY_KEY}"}  # the old data dir's own key
        with httpx.Client(base_url=running.url, headers=headers, timeout=60) as client:
            _check_platform_rows(client)
            _check_observe_rows(client)
    assert _ledger(data_dir / "platform.db") == (list(range(1, len(MIGRATIONS) + 1)), 0, False)
    assert _ledger(data_dir / "observe.db") == (
        list(range(1, len(OBSERVE_MIGRATIONS) + 1)),
        0,
        False,
    )
    with sqlite3.connect(data_dir / "platform.db") as conn:
        stored = conn.execute(
            "SELECT value FROM settings WHERE name = 'download_link_secret'"
        ).fetchone()
        [kinds] = conn.execute("SELECT DISTINCT typeof(created_at) FROM sandboxes").fetchall()
    assert stored == (LINK_SECRET,)  # download links signed before still verify
    assert kinds == ("integer",)  # the one timestamp format
    for name in ("platform.db", "observe.db"):
        assert (data_dir / name).stat().st_mode & 0o077 == 0
