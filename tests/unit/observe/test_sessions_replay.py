"""Sessions and replay: ordering, paging, live follow, summaries, costs, lifetimes."""

from __future__ import annotations

from pathlib import Path

import pytest
from observe_helpers import ACCOUNT, OTHER_ACCOUNT, Clock, RecordingHooks, event, llm

from caged_platform.observe import Invalid, NotFound, Observer


async def test_a_burst_of_ten_full_batches_is_accepted_intact_and_paged_back_in_order(
    observer: Observer,
) -> None:
    for batch in range(10):
        events = [
            event(session_id="burst", second=batch * 1000 + i, payload={"n": batch * 1000 + i})
            for i in range(1000)
        ]
        result = await observer.ingest(ACCOUNT, events)
        assert (result.accepted, result.errors) == (1000, 0)
    seen: list[int] = []
    after = 0
    while True:
        page = await observer.sessions.replay(ACCOUNT, "burst", after_seq=after, limit=1000)
        assert page.total == 10_000
        seen.extend(e.data["n"] for e in page)
        assert [e.sequence for e in page] == list(range(after + 1, after + 1 + len(page)))
        after = page.next_seq or after
        if not page.has_more:
            break
    assert seen == list(range(10_000))
    session = await observer.sessions.get(ACCOUNT, "burst")
    assert session.event_count == 10_000


async def test_an_ingested_session_takes_its_agent_and_times_from_its_events(
    observer: Observer,
) -> None:
    await observer.ingest(
        ACCOUNT,
        [
            event(second=5, session_id="agent-run", meta={"agent_type": "aider"}),
            event(second=65, session_id="agent-run"),
        ],
    )
    session = await observer.sessions.get(ACCOUNT, "agent-run")
    assert (session.agent_type, session.status) == ("aider", "active")
    assert session.duration_ms == 60_000  # by the agent's clock, not ours
    summary = await observer.sessions.replay_summary(ACCOUNT, "agent-run")
    assert summary.start_time == session.started_at and summary.duration_ms == 60_000


async def test_a_client_following_a_live_session_sees_new_events(observer: Observer) -> None:
    await observer.ingest(ACCOUNT, [event(session_id="live", second=i) for i in range(3)])
    first = await observer.sessions.replay(ACCOUNT, "live")
    assert (len(first), first.next_seq, first.has_more) == (3, 3, False)
    empty = await observer.sessions.replay(ACCOUNT, "live", after_seq=first.next_seq or 0)
    assert (len(empty), empty.next_seq) == (0, 3)  # next_seq stays put: keep polling from it
    await observer.ingest(ACCOUNT, [event(session_id="live", second=9)])
    later = await observer.sessions.replay(ACCOUNT, "live", after_seq=empty.next_seq or 0)
    assert [e.sequence for e in later] == [4]


async def test_type_filter_and_summary(observer: Observer) -> None:
    await observer.ingest(
        ACCOUNT,
        [
            event("command", 0, session_id="s", duration_ns=2_500_000),
            event("error", 1, session_id="s"),
            event("command", 4, session_id="s"),
        ],
    )
    commands = await observer.sessions.replay(ACCOUNT, "s", type="command")
    assert [e.sequence for e in commands] == [1, 3]
    assert commands.total == 2
    assert commands[0].duration_ms == pytest.approx(2.5)
    summary = await observer.sessions.replay_summary(ACCOUNT, "s")
    assert summary.types == {"command": 2, "error": 1}
    assert summary.event_count == 3
    assert summary.duration_ms == pytest.approx(4000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be an integer from 1 to 1000"),
        ({"limit": 1001}, "limit must be an integer from 1 to 1000"),
        ({"after_seq": -1}, "after_seq must be a non-negative integer"),
        ({"type": "bogus"}, "unknown event type 'bogus'"),
    ],
)
async def test_replay_parameters_are_validated(
    observer: Observer, kwargs: dict[str, object], message: str
) -> None:
    await observer.ingest(ACCOUNT, [event(session_id="s")])
    with pytest.raises(Invalid, match=message):
        await observer.sessions.replay(ACCOUNT, "s", **kwargs)  # type: ignore[arg-type]


async def test_unknown_sessions_are_not_found(observer: Observer) -> None:
    await observer.ingest(OTHER_ACCOUNT, [event(session_id="theirs")])
    for session_id in ("nope", "theirs"):
        with pytest.raises(NotFound, match="no session"):
            await observer.sessions.replay(ACCOUNT, session_id)
        with pytest.raises(NotFound):
            await observer.sessions.replay_summary(ACCOUNT, session_id)
        with pytest.raises(NotFound):
            await observer.sessions.get(ACCOUNT, session_id)
    with pytest.raises(NotFound):
        await observer.close_session("nope")


async def test_a_replay_page_comes_from_anywhere_in_a_long_session(observer: Observer) -> None:
    """Pages at the start, middle and end, and with a type filter. How fast such a page is
    (also in a 1 000 000-event session) is measured by benchmarks/replay_fetch.py."""
    for batch in range(10):
        await observer.ingest(
            ACCOUNT,
            [event(session_id="big", second=batch * 1000 + i) for i in range(1000)],
        )
    for after in (0, 5_000, 9_000):
        page = await observer.sessions.replay(ACCOUNT, "big", after_seq=after, limit=1000)
        assert len(page) == 1000 and page.events[0].sequence == after + 1
    filtered = await observer.sessions.replay(
        ACCOUNT, "big", after_seq=9_000, limit=1000, type="command"
    )
    assert filtered.total == 10_000


async def test_sessions_are_listed_newest_first_with_pagination(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    for n in range(5):
        await observer.ingest(ACCOUNT, [event(session_id=f"s{n}", sandbox_id="cage-1", second=n)])
    page = await observer.sessions.page(ACCOUNT, page=1, per_page=2)
    assert [s.id for s in page] == ["s4", "s3"]
    assert page.pagination.total == 5 and page.pagination.total_pages == 3
    last = await observer.sessions.page(ACCOUNT, page=3, per_page=2)
    assert [s.id for s in last] == ["s0"]
    assert len(await observer.sessions.of_sandbox(ACCOUNT, "cage-1")) == 5
    with pytest.raises(Invalid, match="per_page must be from 1 to 100"):
        await observer.sessions.page(ACCOUNT, page=1, per_page=0)


async def test_session_costs_and_tokens_derive_from_events(
    observer: Observer, hooks: RecordingHooks
) -> None:
    box = hooks.add("cage-1", compute_cost=1.0)
    session_id = await observer.open_session(ACCOUNT, "cage-1", agent_type="claude-code")
    await observer.ingest(
        ACCOUNT,
        [
            llm(0.25, session_id=session_id, sandbox_id="cage-1"),
            # No cost_usd: priced from the table (claude-sonnet-4: $3 / $15 per Mtok).
            event(
                "llm_call",
                1,
                session_id=session_id,
                payload={"model": "claude-sonnet-4-20250514", "input_tokens": 1_000_000,
                         "output_tokens": 100_000},
            ),
        ],
    )  # fmt: skip
    box.compute_cost = 1.5  # the sandbox ran on while the session was open
    live = await observer.sessions.get(ACCOUNT, session_id)
    assert live.tokens_in == 1_000_100 and live.tokens_out == 100_050
    assert live.llm_cost == pytest.approx(0.25 + 3.0 + 1.5)
    assert live.compute_cost == pytest.approx(0.5)
    assert live.total_cost == pytest.approx(live.llm_cost + 0.5)
    assert live.model == "claude-sonnet-4-20250514"
    assert live.event_count == 3  # the lifecycle open, and two llm calls
    ended = await observer.close_session(session_id)
    box.compute_cost = 9.0  # after the session ended, the sandbox's compute is not its share
    again = await observer.sessions.get(ACCOUNT, session_id)
    assert ended.status == again.status == "completed"
    assert again.compute_cost == pytest.approx(0.5)
    assert observer.llm_cost("cage-1") == pytest.approx(4.75)


async def test_sessions_end_on_disconnect_failure_and_idle_timeout(
    observer: Observer, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1", idle_timeout=60)
    failed = await observer.open_session(ACCOUNT, "cage-1")
    assert (await observer.close_session(failed, failed=True, reason="killed")).status == "failed"
    await observer.ingest(ACCOUNT, [event(session_id="ingested", sandbox_id="cage-1")])
    connected = await observer.open_session(ACCOUNT, "cage-1")
    clock.advance(seconds=61)
    await observer.tick()
    assert (await observer.sessions.get(ACCOUNT, "ingested")).status == "completed"
    # A connected agent's session ends with its socket, not on the timer.
    assert (await observer.sessions.get(ACCOUNT, connected)).status == "active"
    replay = await observer.sessions.replay(ACCOUNT, failed)
    assert [e.data["action"] for e in replay] == ["open", "close"]


async def test_socket_sessions_left_active_by_a_crash_are_ended_at_start(
    tmp_path: Path, hooks: RecordingHooks, clock: Clock
) -> None:
    hooks.add("cage-1")
    first = Observer(tmp_path / "data", hooks=hooks, clock=clock)
    await first.start()
    session_id = await first.open_session(ACCOUNT, "cage-1")
    await first.close()  # as if the process died with the socket open
    async with Observer(tmp_path / "data", hooks=hooks, clock=clock) as second:
        session = await second.sessions.get(ACCOUNT, session_id)
        assert session.status == "completed"
        last = (await second.sessions.replay(ACCOUNT, session_id)).events[-1]
        assert last.data == {"action": "close", "reason": "the platform restarted", "failed": False}


async def test_platform_events_join_the_sandboxs_active_session(
    observer: Observer, hooks: RecordingHooks
) -> None:
    hooks.add("cage-1")
    outside = await observer.record(ACCOUNT, "cage-1", "lifecycle", {"action": "started"})
    assert outside.session_id == ""
    session_id = await observer.open_session(ACCOUNT, "cage-1", channel="mcp")
    exec_event = await observer.record(
        ACCOUNT, "cage-1", "command", {"command": "make", "exit_code": 0}, duration_ms=12.5
    )
    assert exec_event.session_id == session_id and exec_event.sequence == 2
    assert exec_event.duration_ms == 12.5
