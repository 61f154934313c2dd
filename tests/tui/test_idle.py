"""Idle cost (issue 12): an untouched app must neither repaint nor poll much.

Young sandboxes' ages and uptimes change text every second; while the user is idle
the list shows whole minutes, and the clock ticks only when a visible time turns
over. The header's counts keep a slower pace than the list where they are polled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventually import eventually_async
from fake_platform import NOW, FakePlatform, fake_app
from test_app import SIZE, loaded
from test_skeleton import _FeedApp, _no_client
from textual.widgets import Static

from caged_core.models import Sandbox
from caged_tui import formatting as fmt
from caged_tui.live import SANDBOXES, Fetched, LiveFeed, TopicSpec
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


@pytest.mark.parametrize("coarse", [False, True])
@pytest.mark.parametrize("falling", [False, True])
def test_next_change_is_when_the_text_turns_over(coarse: bool, falling: bool) -> None:
    """Just before the predicted moment a duration shows the same text, at it another
    (a countdown's last second turns into "now"), over every unit from seconds to days."""
    sign = -1 if falling else 1

    def text(seconds: float) -> str:
        return "now" if falling and seconds <= 0 else fmt.duration(seconds, coarse=coarse)

    for start in [0.25, 59.5, 60.0, 599.99, 600.0, 3599.5, 3600.0, 86399.0, 90061.7]:
        for offset in range(0, 4000, 7):
            seconds = start + offset
            wait = fmt.next_change(seconds, coarse=coarse, falling=falling)
            before = seconds + sign * (wait - fmt.CHANGE_SLACK - 0.001)
            assert text(before) == text(seconds), (seconds, wait)
            assert text(seconds + sign * wait) != text(seconds), (seconds, wait)


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


async def test_the_clock_ticks_when_a_visible_time_next_changes(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle cost (issue 12): the clock ticked every 10 s while idle (every second while
    active) whether or not a time on screen would change. It now ticks when one does:
    the next second of a young sandbox while the user is active, its next whole minute
    while idle, the next hour when only day-old sandboxes are shown — and a key press
    brings the seconds back at once."""
    fake.sandboxes[:] = [
        {**fake.sandboxes[0], "id": "cage-young", "status": "running",
         "created_at": "2026-11-27T11:57:30Z", "started_at": "2026-11-27T11:57:30Z",
         "last_activity_at": None},
        {**fake.sandboxes[3], "id": "cage-old", "status": "stopped",
         "created_at": "2026-11-24T11:30:00Z", "started_at": None},
    ]  # fmt: skip
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        idle = [False]
        monkeypatch.setattr(type(app.live), "user_idle", property(lambda _: idle[0]))
        screen = await loaded(pilot)
        retimed: list[bool] = []
        retime = screen._source.retime
        monkeypatch.setattr(
            screen._source, "retime", lambda now, keys: retimed.append(idle[0]) or retime(now, keys)
        )

        def next_tick() -> float:
            assert screen._tick is not None
            return screen._tick._interval

        # Frozen at 12:00:00: the young one is 2m30s old, the old one 3d0h30m.
        screen._clock()
        assert next_tick() == pytest.approx(1.01) and retimed == [False]  # 2m31s
        idle[0] = True
        screen._clock()
        assert next_tick() == pytest.approx(30.01)  # "2m" turns "3m" at 12:00:30
        idle[0] = False  # what the app's activity() does before the key reaches the screen
        await pilot.press("down")
        assert retimed[:3] == [False, True, False]
        assert next_tick() == pytest.approx(1.01)
        del fake.sandboxes[0]
        screen.caged.live.poke()
        await eventually_async(lambda: screen._source.row_count == 1, pause=pilot.pause)
        assert next_tick() == pytest.approx(1800.01)  # "3d" turns "3d1h" at 12:30


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


async def test_a_scroll_re_arms_the_clock_for_the_rows_it_shows(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock is armed for the visible rows: scrolled from day-old sandboxes (their
    text turns over on the hour) to young ones, it must tick at their next second."""
    old = {**fake.sandboxes[3], "status": "stopped", "created_at": "2026-11-24T11:30:00Z"}
    born = "2026-11-27T11:57:30Z"
    young = {**fake.sandboxes[0], "status": "running", "last_activity_at": None,
             "created_at": born, "started_at": born}  # fmt: skip
    fake.sandboxes[:] = [{**old, "id": f"cage-old-{i:02d}"} for i in range(60)] + [
        {**young, "id": f"cage-young-{i:02d}"} for i in range(60)
    ]
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        # An active user throughout: the key below re-arms nothing by itself.
        monkeypatch.setattr(type(app.live), "user_idle", property(lambda _: False))
        screen = await loaded(pilot)

        def next_tick() -> float:
            assert screen._tick is not None
            return screen._tick._interval

        screen._clock()
        assert next_tick() == pytest.approx(1800.01)
        await pilot.press("G")  # the last rows: young ones
        await eventually_async(lambda: next_tick() < 2, pause=pilot.pause, what="a re-arm")
        assert next_tick() == pytest.approx(1.01)


async def test_an_overdue_clock_ticks_at_once(
    fake: FakePlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen in tmux: rows formatted long before (the app idle for minutes when a sandbox
    appeared) made the clock due in the past; a timer of 0 s died in Textual (it divides
    by the interval) and the ages stood still for good."""
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        later = NOW + timedelta(minutes=7)
        monkeypatch.setattr(app, "now", lambda: later)
        screen._set_clock()
        await eventually_async(lambda: screen._source.now == later, pause=pilot.pause)
        assert screen._tick is not None and screen._tick._interval >= 1.0
