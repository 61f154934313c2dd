"""Idle cost (issue 12): an untouched app must neither repaint nor poll much.

Young sandboxes' ages and uptimes change text every second; while the user is idle
the list shows whole minutes, so the clock finds nothing to repaint most ticks. The
header's counts (two requests without ETags) keep a slower pace than the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from test_app import SIZE, loaded
from test_skeleton import _FeedApp, _no_client
from textual.widgets import Static

from caged_core.models import Sandbox
from caged_tui import formatting as fmt
from caged_tui.live import SANDBOXES, Fetched, LiveFeed, TopicSpec
from caged_tui.screens import sandboxes as sandboxes_screen
from caged_tui.widgets.sandbox_table import sandbox_source

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_coarse_durations_drop_the_seconds() -> None:
    assert [fmt.duration(s, coarse=True) for s in (0, 42, 125, 3700)] == [
        "<1m",
        "<1m",
        "2m",
        "1h01m",
    ]
    assert fmt.duration(125) == "2m05s"


def young(index: int) -> Sandbox:
    return Sandbox.model_validate(
        {
            "id": f"cage-{index}",
            "status": "running",
            "template": "minimal",
            "created_at": START.isoformat(),
            "started_at": START.isoformat(),
        }
    )


def test_an_idle_list_repaints_once_a_minute() -> None:
    idle = True
    source = sandbox_source(START, lambda: idle)
    source.update([young(i) for i in range(10)])
    keys = [row.key for row in source.rows(0, 10)]
    repainted = [source.retime(START + timedelta(seconds=second), keys) for second in range(5, 60)]
    assert not any(repainted)
    assert source.retime(START + timedelta(seconds=61), keys) == frozenset(keys)  # "1m"
    idle = False  # a key press: seconds again
    assert source.retime(START + timedelta(seconds=62), keys) == frozenset(keys)
    assert source.retime(START + timedelta(seconds=63), keys) == frozenset(keys)


async def test_slow_topics_keep_their_own_pace() -> None:
    """The header's counts cost two requests a round: fetched every 10 s, not every 2 s."""
    clock = [0.0]
    fetched: list[float] = []

    async def counts(client: Any, etag: str | None) -> Fetched[int]:
        fetched.append(clock[0])
        return Fetched(None)

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True, interval=2.0, clock=lambda: clock[0])
        feed.subscribe(app, TopicSpec("counts", counts, min_interval=10.0), lambda value: None)
        for second in range(0, 22, 2):
            clock[0] = float(second)
            await feed.poll_once()
        assert fetched == [0.0, 10.0, 20.0]
        feed.poke()  # r: everything now
        await feed.poll_once()
        assert fetched == [0.0, 10.0, 20.0, 20.0]


async def test_a_new_topic_is_fetched_before_the_long_list() -> None:
    """Seen in tmux on 2,000 sandboxes: a sandbox's detail stayed empty for seconds while
    the round fetched (and parsed) the whole list first."""
    order: list[str] = []

    def fetch(name: str) -> Any:
        async def get(client: Any, etag: str | None) -> Fetched[int]:
            order.append(name)
            return Fetched(None)

        return get

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True)
        feed.subscribe(app, TopicSpec("sandboxes", fetch("sandboxes")), lambda value: None)
        await feed.poll_once()
        feed.subscribe(app, TopicSpec("sandbox:one", fetch("sandbox:one")), lambda value: None)
        await feed.poll_once()
        assert order == ["sandboxes", "sandbox:one", "sandboxes"]


async def test_growing_costs_do_not_keep_the_fast_pace() -> None:
    """Running sandboxes' costs grow every second: each list differed from the last, so an
    idle app never backed off (the local platform sends no ETag)."""
    clock = [0.0]
    cost = [0.0]

    async def sandboxes(client: Any, etag: str | None) -> Fetched[list[Sandbox]]:
        cost[0] += 0.0001
        return Fetched([young(1).model_copy(update={"cost": cost[0], "total_cost": cost[0]})])

    got: list[list[Sandbox]] = []
    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True, interval=2.0, clock=lambda: clock[0])
        spec = TopicSpec("sandboxes", sandboxes, drift=SANDBOXES.drift)
        feed.subscribe(app, spec, got.append)
        assert await feed.poll_once() == 2.0  # the first answer
        clock[0] = 60.0  # the user is idle
        delays = []
        for _ in range(4):
            feed.delay = await feed.poll_once()
            delays.append(feed.delay)
        assert delays == [4.0, 8.0, 16.0, 30.0]
        await eventually_async(lambda: len(got) >= 2)  # the costs are still published


async def test_a_change_below_the_shown_precision_repaints_nothing(fake: FakePlatform) -> None:
    """A running sandbox's cost grows between two lists while its cents stay the same: the
    update must neither repaint its line nor lay out the screen's info line again."""
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        info = screen.query_one("#sandboxes-info", Static)
        painted: list[int] = []
        laid_out: list[object] = []
        original_line, original_update = table.refresh_line, info.update
        table.refresh_line = lambda y: painted.append(y) or original_line(y)  # type: ignore[method-assign]
        info.update = lambda *a, **k: laid_out.append(a) or original_update(*a, **k)  # type: ignore[method-assign]
        first = fake.sandboxes[0]
        first["cost"] = first["total_cost"] = first["total_cost"] + 0.001  # $0.42 still
        screen.caged.live.poke()
        await eventually_async(
            lambda: screen.shown_sandboxes()[0].total_cost == first["total_cost"],
            pause=pilot.pause,
        )
        await pilot.pause()
        assert painted == [] and laid_out == []
        first["status"] = "paused"  # a change that shows repaints its line only
        screen.caged.live.poke()
        await eventually_async(lambda: painted == [1], pause=pilot.pause)


async def test_an_idle_users_clock_ticks_every_ten_seconds(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole minutes need no tick every second; a key press brings the seconds back."""
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        retimed: list[bool] = []
        idle = [False]
        monkeypatch.setattr(
            screen._source, "retime", lambda now, keys: retimed.append(idle[0]) or frozenset()
        )
        monkeypatch.setattr(type(screen.caged.live), "user_idle", property(lambda _: idle[0]))

        def next_tick() -> float:
            assert screen._tick is not None
            return screen._tick._interval

        screen._clock()
        assert next_tick() == sandboxes_screen.CLOCK_SECONDS and retimed == [False]
        idle[0] = True
        screen._clock()
        assert next_tick() == sandboxes_screen.IDLE_CLOCK_SECONDS and retimed == [False, True]
        idle[0] = False  # what the app's activity() does before the key reaches the screen
        await pilot.press("down")
        # (A slow machine may let the next one-second tick in before this check.)
        assert next_tick() == sandboxes_screen.CLOCK_SECONDS
        assert retimed[:3] == [False, True, False]


async def test_backing_off_never_polls_faster_than_the_interval() -> None:
    """An interval above the idle cap (refresh_seconds 3600) is not cut to the cap's 30 s
    once the user is idle: backing off must not mean polling more often."""

    async def unchanged(client: Any, etag: str | None) -> Fetched[int]:
        return Fetched(None)

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True, interval=3600.0, idle_cap=30.0)
        feed.subscribe(app, TopicSpec("quiet", unchanged), lambda value: None)
        assert feed.user_idle and [await feed.poll_once() for _ in range(2)] == [3600.0] * 2
