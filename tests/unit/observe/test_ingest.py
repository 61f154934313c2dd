"""Ingest: per-event validation, caps, normalisation, idempotent retries, durability."""

from __future__ import annotations

from pathlib import Path

import pytest
from observe_helpers import ACCOUNT, OTHER_ACCOUNT, Clock, RecordingHooks, event

from caged_core.models import ReplayPage
from caged_platform.observe import MAX_PAYLOAD_BYTES, Invalid, NotFound, Observer
from caged_platform.observe.events import EventError, parse_event


def test_parse_accepts_data_as_payload_and_maps_unknown_types_to_other() -> None:
    parsed = parse_event(event("telemetry", data={"x": 1}))
    assert parsed.type == "other"
    assert parsed.meta == {"original_type": "telemetry"}
    assert parsed.payload == {"x": 1}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "command"}, "timestamp is required"),
        ({"type": "command", "timestamp": "yesterday"}, "not RFC 3339"),
        ({"type": "command", "timestamp": 12}, "must be an RFC 3339 string"),
        ({"timestamp": "2026-01-01T00:00:00Z"}, "type is required"),
        (event(payload=[1, 2]), "payload must be an object"),
        (event(meta={"k": {"nested": 1}}), "meta['k'] must be a string"),
        (event(duration_ns=-1), "duration_ns must be a non-negative integer"),
        (event(session_id=7), "session_id must be a string"),
        (event(session_id="s" * 200), "session_id is longer than 128"),
        ("not an object", "must be a JSON object"),
    ],
)
def test_parse_refuses_malformed_events_with_a_clear_reason(raw: object, message: str) -> None:
    with pytest.raises(EventError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_event(raw)


def test_payload_cap_is_64_kib() -> None:
    assert MAX_PAYLOAD_BYTES == 64 * 1024
    # Just under the cap (the JSON braces and key count) is fine, one byte more is not.
    overhead = len('{"b":""}')
    parse_event(event(payload={"b": "x" * (MAX_PAYLOAD_BYTES - overhead)}))
    with pytest.raises(EventError, match=r"payload is 65537 bytes; the cap is 65536 bytes"):
        parse_event(event(payload={"b": "x" * (MAX_PAYLOAD_BYTES - overhead + 1)}))


async def test_bad_events_are_counted_and_never_reject_the_good_ones(observer: Observer) -> None:
    batch = [
        event(session_id="s1", payload={"command": "ls"}),
        {"type": "command"},  # no timestamp
        event(session_id="s1", payload={"huge": "x" * (MAX_PAYLOAD_BYTES + 1)}),
        event("telemetry", 1, session_id="s1", data={"k": "v"}),
        42,
        event("llm_call", 2, session_id="s1", account_id="someone-else"),
    ]
    result = await observer.ingest(ACCOUNT, batch)
    assert (result.accepted, result.errors) == (3, 3)
    assert result.messages[0] == "event 1: timestamp is required (RFC 3339)"
    assert "event 2: payload is" in result.messages[1]
    assert result.messages[2] == "event 4: an event must be a JSON object"
    page = await observer.sessions.replay(ACCOUNT, "s1")
    assert [e.type for e in page] == ["command", "other", "llm_call"]
    assert page[1].data == {"k": "v"} and page[1].meta == {"original_type": "telemetry"}
    # account_id comes from the key: the event's own claim is ignored.
    with pytest.raises(NotFound):
        await observer.sessions.get("someone-else", "s1")


async def test_batch_level_refusals(observer: Observer) -> None:
    with pytest.raises(Invalid, match="at most 1000 events; got 1001"):
        await observer.ingest(ACCOUNT, [event()] * 1001)
    with pytest.raises(Invalid, match="must be an array"):
        await observer.ingest(ACCOUNT, {"events": []})
    assert (await observer.ingest(ACCOUNT, [])).accepted == 0


async def test_retrying_a_batch_with_ids_does_not_duplicate(observer: Observer) -> None:
    batch = [event(id=f"e{i}", session_id="s1", second=i) for i in range(5)]
    assert (await observer.ingest(ACCOUNT, batch)).accepted == 5
    assert (await observer.ingest(ACCOUNT, batch)).accepted == 5
    page = await observer.sessions.replay(ACCOUNT, "s1")
    assert [e.id for e in page] == [f"e{i}" for i in range(5)]
    assert [e.sequence for e in page] == [1, 2, 3, 4, 5]


async def test_events_naming_another_accounts_sandbox_are_refused(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-theirs", account_id=OTHER_ACCOUNT)
    hooks.add("cage-mine")
    result = await observer.ingest(
        ACCOUNT,
        [
            event(sandbox_id="cage-theirs", session_id="s1"),
            event(sandbox_id="cage-mine", session_id="s2"),
        ],
    )
    assert (result.accepted, result.errors) == (1, 1)
    assert "not one of this account's sandboxes" in result.messages[0]


async def test_a_session_id_of_another_account_is_refused(observer: Observer) -> None:
    await observer.ingest(OTHER_ACCOUNT, [event(session_id="shared")])
    result = await observer.ingest(ACCOUNT, [event(session_id="shared")])
    assert result.errors == 1
    assert "belongs to another account" in result.messages[0]


async def test_acknowledged_events_survive_a_restart(
    tmp_path: Path, hooks: RecordingHooks, clock: Clock
) -> None:
    data = tmp_path / "data"
    async with Observer(data, hooks=hooks, clock=clock) as first:
        await first.ingest(ACCOUNT, [event(session_id="s1", second=i) for i in range(10)])
    async with Observer(data, hooks=hooks, clock=clock) as second:
        page = await second.sessions.replay(ACCOUNT, "s1")
        assert page.total == 10
        assert [e.sequence for e in page] == list(range(1, 11))
        # Sequences continue where they stopped.
        await second.ingest(ACCOUNT, [event(session_id="s1", second=11)])
        assert (await second.sessions.replay(ACCOUNT, "s1", after_seq=10)).events[0].sequence == 11


async def test_record_validates_what_the_platform_sends(observer: Observer) -> None:
    with pytest.raises(Invalid, match="unknown event type"):
        await observer.record(ACCOUNT, "cage-1", "bogus", {})
    with pytest.raises(NotFound, match="unknown session_id"):
        await observer.record(ACCOUNT, "cage-1", "command", {}, session_id="sess-nope")
    # Long strings are clipped so a platform event never exceeds the cap.
    stored = await observer.record(ACCOUNT, "cage-1", "command", {"command": "x" * 200_000})
    assert len(stored.data["command"]) < 20_000
    assert stored.data["command"].endswith("[truncated]")


@pytest.mark.parametrize("key", ["id", "session_id", "sandbox_id", "process_id"])
async def test_an_id_that_is_not_text_is_refused_alone(observer: Observer, key: str) -> None:
    """JSON can spell a lone surrogate (``"\\ud800"``), which no database text holds: the
    event is refused with the reason, not the whole batch with a server error."""
    ids = {"session_id": "s1", key: "a\ud800"}
    batch = [event(**ids), event(session_id="s1", payload={"command": "ls"})]
    result = await observer.ingest(ACCOUNT, batch)
    assert (result.accepted, result.errors) == (1, 1)
    assert result.messages == [f"event 0: {key} is not valid Unicode (a lone surrogate)"]
    assert [e.data for e in await observer.sessions.replay(ACCOUNT, "s1")] == [{"command": "ls"}]


@pytest.mark.parametrize(
    ("hostile", "message"),
    [
        (event("x\ud800", session_id="s1"), "type is not valid Unicode"),
        (event(session_id="s1", meta={"k": "\ud800"}), "meta['k'] is not valid Unicode"),
        (event(session_id="s1", meta={"\ud800": "v"}), "is not valid Unicode"),
    ],
)
async def test_a_type_or_meta_that_is_not_text_is_refused_alone(
    observer: Observer, hostile: dict[str, object], message: str
) -> None:
    """Stored (escaped), a lone surrogate made every replay page holding the event one
    that no client could read (pydantic refuses it): the session could not be replayed."""
    result = await observer.ingest(ACCOUNT, [hostile, event(session_id="s1")])
    assert (result.accepted, result.errors) == (1, 1)
    assert message in result.messages[0]
    body = (await observer.sessions.replay_json(ACCOUNT, "s1")).body
    assert [e.type for e in ReplayPage.model_validate_json(body)] == ["command"]
