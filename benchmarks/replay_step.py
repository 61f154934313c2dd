"""replay_step: each step of playback at 64x — the playhead moving on, the terminal pane
fed, the totals and the timeline's cursor following — until its frame is painted.

A session of 3 000 events (1 000 with ``--quick``) is ingested into the local
platform (untimed): a terminal recording — coloured ``ls``-like output chunks — with
commands and LLM calls between them. The real app opens its replay screen (headless,
160x40), waits for the terminal keyframes, sets 64x and plays to the end. Every tick
of the player that moved the playhead is timed, with the screen update that paints
it (layout, compositor, the frame turned into terminal output, see
:mod:`benchmarks._frames`) — the idle wait for Textual's 60 Hz timer left out; at 64x
a tick usually plays several events, so this is the cost of a step as the user sees it.

Reference, same run: a bare app with a :class:`VirtualTable` whose cursor moves one
row per 60 Hz tick, timed the same way — the price of any frame that moves a cursor.
(Both run with the probe's frame rendering, as a real terminal makes an app pay it.)
It starts from a collected heap and holds the collector as the replay does while
playing (:class:`caged_tui.collector.CollectorHold`): it used to run after ours in a
heap holding ours' leftovers, so full collections of the benchmark process's
~100,000 objects (60-200 ms each, every ~25 ticks) were its p99 — 213 ms against
p50 7 ms — a price of garbage collection, not of moving a cursor.
Target: p99 ≤ 16 ms (one 60 Hz frame), absolute; the p50 ratio is context.

Collections are not hidden: a collection run inside a tick or an update is in that
step's time, and the rows "full collections" give how many ran during each side's
measurement and the longest (whether inside a step or between them).
"""

from __future__ import annotations

import asyncio
import gc
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen

from benchmarks._common import CONTEXT, Context, Row, at_most, median, percentile
from benchmarks._events import new_session_id
from benchmarks._frames import FrameProbe
from caged_core.client import AsyncCaged
from caged_tui.app import make_app
from caged_tui.collector import CollectorHold
from caged_tui.screens.replay import TICK, ReplayScreen
from caged_tui.settings import Settings
from caged_tui.widgets.virtual_table import Column, TableRow, VirtualTable

SIZE = (160, 40)
_START = datetime(2026, 1, 1, tzinfo=UTC)


def session_events(session_id: str, count: int) -> list[dict[str, Any]]:
    """A terminal session: coloured output chunks, with commands and LLM calls between."""
    events: list[dict[str, Any]] = []
    for i in range(count):
        when = (_START + timedelta(milliseconds=250 * i)).isoformat()
        if i % 10 == 0:
            payload = {"model": "claude-4", "tokens_in": 900, "tokens_out": 120, "cost_usd": 0.004}
            kind = "llm_call"
        elif i % 10 == 1:
            payload, kind = {"command": f"ls -la src/{i}", "source": "terminal"}, "command"
        else:
            line = "".join(f"\x1b[3{j % 8}mfile_{i}_{j}.py\x1b[0m  " for j in range(6))
            payload = {"kind": "terminal_output", "data": line + "\r\n", "offset": 0}
            kind = "other"
        events.append({"type": kind, "timestamp": when, "session_id": session_id,
                       "payload": payload})  # fmt: skip
    return events


class CursorApp(App[None]):
    """The reference: a virtual table whose cursor moves a row per 60 Hz tick."""

    def __init__(self, count: int, steps: StepTimer) -> None:
        super().__init__()
        self.count = count
        self.steps = steps

    def compose(self) -> ComposeResult:
        yield VirtualTable([Column("seq", "#", 6), Column("event", "EVENT", 40)], _Rows(self.count))

    def on_mount(self) -> None:
        self.collector = CollectorHold()
        self.collector.start()
        self.set_interval(TICK, lambda: self.steps.tick(self.move))

    def move(self) -> bool:
        self.collector.tick()
        self.query_one(VirtualTable).action_cursor_down()
        return True


class _Rows:
    """``count`` rows made on demand."""

    def __init__(self, count: int) -> None:
        self.row_count = count

    def rows(self, start: int, stop: int) -> list[TableRow]:
        stop = min(stop, self.row_count)
        return [TableRow(str(i), ((str(i), ""), (f"event {i}", ""))) for i in range(start, stop)]

    def index_of(self, key: str) -> int | None:
        return int(key)


class StepTimer:
    """Times each tick that did something plus the screen update that paints it.

    Textual paints on its own 60 Hz timer (``Screen._on_timer_update``: layout,
    compositor, the frame written out — see :class:`FrameProbe`), so a step costs its
    tick and the next update; the idle time until that timer fires is not work and is
    left out (it is at most a frame, whatever the step costs).
    """

    def __init__(self) -> None:
        self.pending: float | None = None
        self.steps: list[float] = []
        self._original = Screen._on_timer_update
        #: Pauses of full (oldest-generation) collections while measuring, in seconds.
        self.full_collections: list[float] = []
        self.measuring = False
        self._gc_started = 0.0

    def _gc_callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif info["generation"] == 2 and self.measuring:
            self.full_collections.append(time.perf_counter() - self._gc_started)

    def tick(self, work: Callable[[], bool]) -> None:
        """Run one tick; ``work()`` says whether it moved anything."""
        started = time.perf_counter()
        if work():
            self.pending = (self.pending or 0.0) + time.perf_counter() - started

    def __enter__(self) -> StepTimer:
        timer, original = self, self._original

        def update(screen: Screen[Any]) -> None:
            started = time.perf_counter()
            original(screen)
            if timer.pending is not None:
                timer.steps.append(timer.pending + time.perf_counter() - started)
                timer.pending = None

        Screen._on_timer_update = update  # type: ignore[method-assign,assignment]
        gc.callbacks.append(self._gc_callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._gc_callback)
        Screen._on_timer_update = self._original  # type: ignore[method-assign]


async def _until(done: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} never happened")
        await asyncio.sleep(0.05)


async def _ours(platform: Any, session_id: str, count: int) -> StepTimer:
    app = make_app(
        AsyncCaged(api_key=platform.api_key, base_url=platform.url),
        Settings(base_url=platform.url, local=True, refresh_seconds=3600),
    )
    probe = FrameProbe(app)
    # Installed before the app starts: Textual binds its update timer at mount.
    with StepTimer() as steps:
        async with app.run_test(headless=True, size=SIZE):
            await asyncio.wait_for(probe.frame_where(lambda: True), 60)
            screen = ReplayScreen(session_id)
            app.push_screen(screen)
            # Untimed: the loads (terminal and its keyframes) before playing.
            await _until(
                lambda: screen.tape is not None and len(screen.tape.keyframes) > 1, 120, "keyframes"
            )
            original = screen._tick

            def moved() -> bool:
                before = screen.playhead
                original()
                return screen.playhead != before

            screen._tick = lambda: steps.tick(moved)  # type: ignore[method-assign]
            screen.speed = 64.0
            steps.measuring = True
            screen.playing = True
            await _until(lambda: screen.playhead >= count, 300, "playing to the end")
            steps.measuring = False
    return steps


async def _reference(count: int) -> StepTimer:
    gc.collect()  # not ours' leftovers: the reference is a bare app
    with StepTimer() as steps:
        app = CursorApp(count, steps)
        FrameProbe(app)  # frames written out, as for ours
        async with app.run_test(headless=True, size=SIZE):
            table = app.query_one(VirtualTable)
            steps.measuring = True
            await _until(lambda: table.cursor_row >= count - 1, 300, "the cursor at the end")
            steps.measuring = False
    return steps


def run(context: Context) -> list[Row]:
    """Per-step latency playing at 64x vs a table moving its cursor each tick."""
    count = context.pick(1_000, 3_000)

    async def measure() -> tuple[StepTimer, StepTimer]:
        platform = context.platform
        async with platform.client() as client:
            session_id = new_session_id()
            context.log(f"replay_step: ingesting {count:,} events (untimed)")
            events = session_events(session_id, count)
            for first in range(0, count, 1000):
                await client.events.ingest(events[first : first + 1000])
        ours = await _ours(platform, session_id, count)
        ref = await _reference(min(count, 600))
        return ours, ref

    ours, ref = asyncio.run(measure())
    ms = [x * 1000 for x in ours.steps]
    ref_ms = [x * 1000 for x in ref.steps]
    gc_ms = [x * 1000 for x in ours.full_collections]
    ref_gc_ms = [x * 1000 for x in ref.full_collections]
    return [
        Row("replay_step", f"step p99 playing at 64x ({len(ms)} ticks)", "ms",
            percentile(ms, 99), percentile(ref_ms, 99), at_most(16.0, "p99 ≤ 16 ms"),
            judged="ours", samples={"ours_ms": ms, "reference_ms": ref_ms}),
        Row("replay_step", "step p50 vs a cursor-move frame", "ms", median(ms), median(ref_ms),
            CONTEXT),
        Row("replay_step", "step max (one frame in the run)", "ms", max(ms, default=math.nan),
            max(ref_ms, default=math.nan), CONTEXT),
        Row("replay_step", f"full collections while measuring ({len(gc_ms)} vs {len(ref_gc_ms)})",
            "ms (longest)", max(gc_ms, default=0.0), max(ref_gc_ms, default=0.0), CONTEXT,
            samples={"ours_ms": gc_ms, "reference_ms": ref_gc_ms}),
    ]  # fmt: skip
