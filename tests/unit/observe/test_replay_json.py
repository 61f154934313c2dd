"""Replay pages are written as JSON by SQLite: the text must be what the wire models give."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from observe_helpers import ACCOUNT

from caged_core.models import ReplayPage
from caged_platform.observe import Observer

SESSION = 'sess-\u00e9"1'


@pytest.mark.parametrize("written", ["when stored", "on the fly", "some of each"])
async def test_a_page_is_the_text_of_its_model(observer: Observer, written: str) -> None:
    events: list[dict[str, Any]] = [
        {
            "id": 'q"\u00e9\u2028',
            "type": "command",
            "timestamp": "2026-01-01T00:00:00Z",
            "payload": {"command": 'say "h\u00e9"', "x": 0.1, "big": 12345678901234567890},
            "duration_ns": 12345678901234567,
        },
        {
            "id": "micro",
            "type": "llm_call",
            "timestamp": "2026-01-01T00:00:00.000001Z",
            "payload": {},
            "duration_ns": 3_000_000,
            "meta": {"k": "v"},
        },
        {
            "id": "before-1970",
            "type": "telemetry",
            "timestamp": "1969-12-31T23:59:59.5Z",
            "payload": {"n": None},
        },
        {
            "id": "tiny",
            "type": "error",
            "timestamp": "2026-06-01T12:34:56.789Z",
            "sandbox_id": "sb-1",
            "payload": {"a": [1, 2.5e300, -0.0]},
            "duration_ns": 1,
        },
    ]
    result = await observer.ingest(ACCOUNT, [{**e, "session_id": SESSION} for e in events])
    assert result.errors == 0
    if written != "when stored":  # as for events stored before events.json existed
        which = "" if written == "on the fly" else " WHERE sequence % 2 = 0"

        def forget(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE events SET json = NULL" + which)

        await observer._db.run(forget)
    first = (await observer.sessions.replay_json(ACCOUNT, SESSION, limit=3)).body
    page = ReplayPage.model_validate_json(first)
    assert json.loads(first) == json.loads(page.model_dump_json())
    assert [e.id for e in page] == [e["id"] for e in events[:3]]
    assert (page.has_more, page.next_seq, page.total) == (True, 3, 4)
    assert [e.duration_ms for e in page] == [12345678901.234567, 3.0, None]
    assert page[2].meta == {"original_type": "telemetry"}

    errors = (await observer.sessions.replay_json(ACCOUNT, SESSION, after_seq=3, type="error")).body
    [tiny] = ReplayPage.model_validate_json(errors).events
    assert json.loads(errors)["events"][0] == tiny.model_dump(mode="json")
    assert tiny.duration_ms == 1e-6 and tiny.sandbox_id == "sb-1"


async def test_an_empty_page_keeps_the_cursor(observer: Observer) -> None:
    await observer.ingest(
        ACCOUNT,
        [
            {
                "type": "command",
                "timestamp": "2026-01-01T00:00:00Z",
                "session_id": SESSION,
                "payload": {},
            }
        ],
    )
    page = ReplayPage.model_validate_json(
        (await observer.sessions.replay_json(ACCOUNT, SESSION, after_seq=1)).body
    )
    assert (page.events, page.has_more, page.next_seq, page.total) == ([], False, 1, 1)
