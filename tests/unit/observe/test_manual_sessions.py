"""Nothing in the dark (issue 15): activity outside agent sessions goes to implicit
``manual`` sessions — one per idle-separated burst — and terminals are sessions."""

from __future__ import annotations

from observe_helpers import ACCOUNT, Clock, RecordingHooks, event

from caged_platform.observe import Observer
from caged_platform.observe.sessions import MANUAL_IDLE_SECONDS


async def test_a_burst_of_api_activity_is_one_manual_session(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    first = await observer.record(ACCOUNT, "cage-1", "command", {"command": "touch x"})
    assert first.session_id
    change = await observer.record(ACCOUNT, "cage-1", "file_op", {"path": "/workspace/x"})
    assert change.session_id == first.session_id and change.sequence == 2
    session = await observer.sessions.get(ACCOUNT, first.session_id)
    assert session.agent_type == "manual" and session.status.value == "active"
    listed = await observer.sessions.of_sandbox(ACCOUNT, "cage-1")
    assert [s.id for s in listed] == [first.session_id]

    clock.advance(seconds=MANUAL_IDLE_SECONDS + 1)  # a quiet spell ends the burst
    later = await observer.record(ACCOUNT, "cage-1", "command", {"command": "ls"})
    assert later.session_id not in ("", first.session_id) and later.sequence == 1
    ended = await observer.sessions.get(ACCOUNT, first.session_id)
    assert ended.status.value == "completed" and ended.event_count == 2


async def test_the_timer_ends_an_idle_manual_session(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    hooks.sandboxes["cage-1"].idle_timeout = 3600.0  # the sandbox's own timeout is longer
    recorded = await observer.record(ACCOUNT, "cage-1", "command", {"command": "make"})
    clock.advance(seconds=MANUAL_IDLE_SECONDS + 1)
    await observer.tick()
    ended = await observer.sessions.get(ACCOUNT, recorded.session_id)
    assert ended.status.value == "completed"


async def test_an_agents_session_takes_the_activity_instead(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1", channel="mcp", agent_type="x")
    recorded = await observer.record(ACCOUNT, "cage-1", "command", {"command": "make"})
    assert recorded.session_id == session_id


async def test_ingested_events_naming_no_session_are_replayable(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    result = await observer.ingest(ACCOUNT, [event("command", sandbox_id="cage-1")])
    assert result.accepted == 1
    [session] = await observer.sessions.of_sandbox(ACCOUNT, "cage-1")
    assert session.agent_type == "manual" and session.event_count == 1


async def test_a_terminal_is_a_manual_session_that_records_its_size(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    session_id = await observer.open_session(ACCOUNT, "cage-1", size=(30, 100))
    await observer.terminal_output(session_id, b"hello\r\n")
    await observer.terminal_resize(session_id, 40, 120)
    session = await observer.sessions.get(ACCOUNT, session_id)
    assert session.agent_type == "manual"
    page = await observer.sessions.replay(ACCOUNT, session_id, after_seq=0, limit=10)
    kinds = [(e.type, e.data.get("action") or e.data.get("kind")) for e in page.events]
    assert kinds == [
        ("lifecycle", "open"),
        ("other", "terminal_output"),  # flushed before the resize: it was shown first
        ("other", "terminal_resize"),
    ]
    assert (page.events[0].data["rows"], page.events[0].data["cols"]) == (30, 100)
    assert (page.events[2].data["rows"], page.events[2].data["cols"]) == (40, 120)
