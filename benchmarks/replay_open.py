"""replay_open: the replay screen on a 100 000-event session — open to first paint, and
``end`` to the last event painted.

The session is ingested into the local platform once (untimed; 20 000 events with
``--quick``). The real app (``make_app`` with a real client over loopback) runs
headless at 160x40; once its first frame is up, the replay screen is pushed and the
clock runs until the first frame that shows the session's first events (three
requests: the session, its summary, the first page). Then ``end`` is pressed and the
clock runs until the frame that shows the last event: one page fetched by
``after_seq``, wherever it is. Frames are turned into terminal output (see
:mod:`benchmarks._frames`).

Reference, same run, interleaved: a bare app holding only a :class:`VirtualTable`,
which fetches one page with the same client and paints it — for ``end``, the last
page. It is what any screen showing those events must pay (a request, a page of
models, a frame); the ratio is what the replay screen adds (its summary, totals and
terminal loads, its panes). Targets: first paint ≤ 0.3 s (the issue's), absolute;
``end`` ≤ 0.3 s, absolute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType

from benchmarks._common import CONTEXT, Context, Row, at_most, median
from benchmarks._events import make_events, new_session_id
from benchmarks._frames import FrameProbe
from caged_core.client import AsyncCaged
from caged_core.models import ReplayEvent
from caged_tui.app import make_app
from caged_tui.replay.timeline import PAGE
from caged_tui.screens.replay import ReplayScreen
from caged_tui.settings import Settings
from caged_tui.widgets.virtual_table import Column, ListSource, VirtualTable

SIZE = (160, 40)
INGEST_BATCH = 1000


async def ingest(context: Context, client: AsyncCaged, count: int, name: str) -> str:
    """A new session of ``count`` command events (untimed)."""
    session_id = new_session_id()
    context.log(f"{name}: ingesting {count:,} events (untimed)")
    for first in range(0, count, INGEST_BATCH):
        await client.events.ingest(
            make_events(session_id, min(INGEST_BATCH, count - first), first=first)
        )
    return session_id


class PageApp(App[None]):
    """The reference: a virtual table showing one page of the session, fetched when asked
    (``after_seq`` 0: "opening") and on ``end`` (the last page)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("end", "last_page", priority=True)]

    def __init__(self, client: AsyncCaged, session_id: str, count: int) -> None:
        super().__init__()
        self.client = client
        self.session_id = session_id
        self.count = count
        self.source: ListSource[ReplayEvent] = ListSource(
            lambda e: str(e.sequence),
            lambda e, _: ((str(e.sequence), ""), (str(e.data.get("command")), "")),
            None,  # type: ignore[arg-type]  # the render ignores the clock
        )
        self.last_shown = 0

    def compose(self) -> ComposeResult:
        yield VirtualTable([Column("seq", "#", 6), Column("event", "EVENT", 40)], self.source)

    def action_last_page(self) -> None:
        self.fetch((self.count - 1) // PAGE * PAGE)

    @work(exclusive=True)
    async def fetch(self, after: int) -> None:
        page = await self.client.sessions.replay(self.session_id, after_seq=after, limit=PAGE)
        table = self.query_one(VirtualTable)
        table.source_changed(self.source.update(page.items))
        table.action_last() if after else table.action_first()
        self.last_shown = page.items[-1].sequence


async def _drive(
    app: App[Any],
    open_: Callable[[], object],
    first_ready: Callable[[], bool],
    end_ready: Callable[[], bool],
) -> tuple[float, float]:
    """(open → first frame where ``first_ready``, ``end`` → frame where ``end_ready``)."""
    probe = FrameProbe(app)
    async with app.run_test(headless=True, size=SIZE):
        await asyncio.wait_for(probe.frame_where(lambda: True), 60)
        started = time.perf_counter()
        open_()
        first = await asyncio.wait_for(probe.frame_where(first_ready), 60) - started
        await asyncio.sleep(0.2)  # let the screen's background loads settle, as a user would
        frame = probe.frame_where(end_ready)
        pressed = time.perf_counter()
        app.post_message(events.Key("end", None))
        end = await asyncio.wait_for(frame, 60) - pressed
    return first, end


async def _ours(context: Context, session_id: str, count: int) -> tuple[float, float]:
    platform = context.platform
    app = make_app(
        AsyncCaged(api_key=platform.api_key, base_url=platform.url),
        Settings(base_url=platform.url, local=True, refresh_seconds=3600),
    )
    screens: list[ReplayScreen] = []

    def open_() -> None:
        screens.append(ReplayScreen(session_id))
        app.push_screen(screens[0])

    def first() -> bool:
        screen = screens[0]
        return (
            app.screen is screen
            and screen.timeline.event(1) is not None
            and screen.table.row("1") is not None
        )

    def end() -> bool:
        screen = screens[0]
        return screen.playhead == count and screen.timeline.event(count) is not None

    return await _drive(app, open_, first, end)


async def _reference(client: AsyncCaged, session_id: str, count: int) -> tuple[float, float]:
    app = PageApp(client, session_id, count)
    return await _drive(
        app,
        lambda: app.fetch(0),
        lambda: app.last_shown == min(PAGE, count),
        lambda: app.last_shown == count,
    )


def run(context: Context) -> list[Row]:
    """Open and end of a 100 000-event replay vs a bare table fetching the same pages."""
    count = context.pick(20_000, 100_000)
    rounds = context.pick(3, 5)

    async def measure() -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        ours, ref = [], []
        async with context.platform.client() as client:
            session_id = await ingest(context, client, count, "replay_open")
            for _ in range(rounds):  # interleaved, so both see the same machine
                ours.append(await _ours(context, session_id, count))
                ref.append(await _reference(client, session_id, count))
        return ours, ref

    ours, ref = asyncio.run(measure())
    first = [o[0] for o in ours]
    ref_first = [r[0] for r in ref]
    end = [o[1] for o in ours]
    ref_end = [r[1] for r in ref]
    return [
        Row("replay_open", f"open to first paint, {count:,} events ({rounds} runs)", "s",
            median(first), median(ref_first), at_most(0.3, "≤ 0.3 s"), judged="ours",
            samples={"ours_s": first, "reference_s": ref_first}),
        Row("replay_open", "open vs a bare table fetching one page", "s", median(first),
            median(ref_first), CONTEXT),
        Row("replay_open", "end to the last event painted", "s", median(end), median(ref_end),
            at_most(0.3, "≤ 0.3 s"), judged="ours",
            samples={"ours_s": end, "reference_s": ref_end}),
    ]  # fmt: skip
