"""The replay screen: one agent session, played back or followed live.

- **Timeline**: a :class:`VirtualTable` over a :class:`TimelineSource` that fetches
  pages of events around the cursor by ``after_seq``, so opening a 100,000-event
  session costs three requests. Type filters (``t`` then ``1``-``6``) and ``/``
  search switch it to a list of the matching events, gathered page by page.
- **Playhead**: the sequence of the event last played. The timeline's cursor shows
  it (with a filter on: the last matching event at or before it), the detail pane
  describes it, the running totals and the terminal pane are as they were just
  after it. Moving the cursor moves the playhead.
- **Playback** (asciinema's keys): ``space``, ``←/→`` one event, ``<``/``>`` speed,
  ``[``/``]`` idle-time cap, ``0``-``9`` jump to 0-90 % of the events, ``home``/``end``.
  A 60 Hz tick spends ``elapsed x speed`` seconds of (capped) recording time.
- **Terminal**: recorded output is fed through the pyte widget as the playhead
  passes it; keyframes computed in a worker thread make going back fast. It keeps its
  recorded size (and recorded resizes), in a pane that scrolls (``shift+arrows``) and
  says when it is cropped; ``z`` zooms the pane to the whole body, playback keys still on.
- **Live follow** (``f``): a live-feed topic asks for events after the tail at
  least every half second; moving off the tail stops following.
- **Export**: ``e`` JSON Lines, ``c`` asciinema v2 ``.cast``: a dialog asks for the
  file (``<session>.jsonl`` / ``.cast`` in the working directory by default), an
  existing one is replaced only after a confirmation, a failure says why.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Input, Static

from caged_core.errors import CagedError
from caged_core.models import AgentSession, ReplayEvent, ReplaySummary, TrustDeduction
from caged_tui import formatting as fmt
from caged_tui.collector import CollectorHold
from caged_tui.live import Fetched, TopicSpec
from caged_tui.replay import events as ev
from caged_tui.replay.events import Kind
from caged_tui.replay.export import (
    CastWriter,
    ExportFile,
    cast_header,
    default_export_name,
    export_path,
    jsonl_lines,
)
from caged_tui.replay.keyframes import (
    DEFAULT_SIZE,
    Keyframe,
    Step,
    TerminalTape,
    build_keyframes,
)
from caged_tui.replay.playback import IDLE_CAP, advance, gap, step_cap, step_speed
from caged_tui.replay.timeline import PAGE, TimelineSource
from caged_tui.replay.totals import RunningTotals
from caged_tui.screens.base import CagedScreen
from caged_tui.widgets.dialogs import ConfirmDialog, Field, FormDialog
from caged_tui.widgets.terminal import TerminalView
from caged_tui.widgets.terminal_pane import TerminalPane
from caged_tui.widgets.text_line import TextLine
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged

#: Ticks per second while playing.
TICK = 1 / 60
#: Seconds between detail-pane updates while playing (each lays the screen out; the
#: totals and the position bar, single lines, follow every tick).
DETAIL_EVERY = 1.0
#: Faster than this the detail pane waits for a pause: an event a second is not
#: readable at 64x, and each update lays the whole screen out (a dropped frame).
DETAIL_UP_TO_SPEED = 1.0
#: Characters of an event's summary in the timeline (the detail pane has the rest).
SUMMARY_WIDTH = 30
#: How often a followed session is asked for new events.
FOLLOW_EVERY = 0.5
#: Columns and rows one ``shift+arrow`` scrolls a cropped terminal.
PAN_COLUMNS = 8
PAN_ROWS = 4

COLUMNS = (
    Column("icon", " ", 1),
    Column("time", "T+", 6),
    Column("event", "EVENT", SUMMARY_WIDTH),
    Column("duration", "DUR", 5),
    Column("llm", "TOKENS/COST", 11),
    Column("trust", "TRUST", 5),
)

#: The type filters, ``t`` then ``1`` … ``6``, in :class:`Kind` order.
KINDS = tuple(Kind)


def clock(seconds: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss``) of a time since the start."""
    seconds = max(0.0, seconds)
    if seconds >= 3600:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def position_bar(fraction: float, width: int) -> str:
    """A bar ``━━━━╸────`` filled to ``fraction``."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "━" * filled + "─" * (width - filled)


def add_to_tape(tape: TerminalTape, event: ReplayEvent) -> None:
    """Add ``event`` to the terminal recording if it is output or a resize."""
    if ev.is_terminal_output(event):
        tape.add(event.sequence, ev.terminal_text(event))
    elif (size := ev.terminal_resize(event)) is not None:
        tape.add(event.sequence, size)


def _digit_help(digit: int) -> str:
    """What a digit key does: a jump, and right after ``t`` a type filter."""
    jump = f"Jump to {digit * 10} %"
    if digit == 0:
        return f"{jump} · after t: every type"
    if digit <= len(KINDS):
        return f"{jump} · after t: toggle {KINDS[digit - 1].value}"
    return jump


class TimelineTable(VirtualTable):
    """The timeline: event types coloured, trust deductions in red."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        *(f"timeline--{kind.value}" for kind in Kind),
        "timeline--deduction",
    }

    DEFAULT_CSS = """
    TimelineTable > .timeline--llm { color: $accent; }
    TimelineTable > .timeline--tools { color: $primary; }
    TimelineTable > .timeline--commands { color: $warning; }
    TimelineTable > .timeline--files { color: $success; }
    TimelineTable > .timeline--terminal { color: $text-muted; }
    TimelineTable > .timeline--other { color: $secondary; }
    TimelineTable > .timeline--deduction { color: $error; text-style: bold; }
    """


def _follow_topic(screen: ReplayScreen) -> TopicSpec[tuple[ReplayEvent, ...]]:
    """Events after the timeline's tail, asked for only while following."""

    async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[tuple[ReplayEvent, ...]]:
        if not (screen.following and screen.is_attached):
            return Fetched(())  # nothing asked: no request (and the topic counts as known)
        page = await client.sessions.replay(
            screen.session_id, after_seq=screen.timeline.total, limit=1000
        )
        return Fetched(tuple(page.items) if page.items else None)

    return TopicSpec(f"replay-tail:{screen.session_id}", fetch, max_wait=FOLLOW_EVERY)


class ReplayScreen(CagedScreen[None]):
    """Watch one agent session: timeline, detail, terminal, totals, playback."""

    SCREEN_TITLE = "Replay"
    CSS_PATH = "replay.tcss"
    AUTO_FOCUS = "#replay-timeline"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="replay.back"),
        Binding("space", "play_pause", "Play", id="replay.play_pause"),
        # Priority: the timeline scrolls sideways with ← → when it is wider than its pane
        # (at 120 columns it is), and stepping must not depend on the window's width.
        # A pair of keys has one footer entry (the footer fits 120 columns; help lists both).
        Binding(
            "left", "step(-1)", "Step back", key_display="←", priority=True, show=False,
            id="replay.step_back",
        ),
        Binding(
            "right", "step(1)", "Step", key_display="← →", priority=True, id="replay.step"
        ),
        Binding(
            "less_than_sign", "speed(-1)", "Slower", key_display="<", show=False,
            id="replay.slower",
        ),
        Binding(
            "greater_than_sign", "speed(1)", "Speed", key_display="< >", id="replay.faster"
        ),
        Binding(
            "left_square_bracket", "idle_cap(-1)", "Idle cap down", show=False,
            key_display="[", id="replay.idle_down",
        ),
        Binding(
            "right_square_bracket", "idle_cap(1)", "Idle cap up", show=False,
            key_display="]", id="replay.idle_up",
        ),
        *(
            Binding(str(n), f"digit({n})", _digit_help(n), show=False, id=f"replay.jump_{n}")
            for n in range(10)
        ),
        # The timeline's own home/end move its cursor (and so the playhead); these are for
        # when it is hidden (zoomed).
        Binding("home", "jump(0)", "First event", show=False, id="replay.first"),
        Binding("end", "jump(10)", "Last event", show=False, id="replay.last"),
        Binding(
            "t", "choose_type", "Types", key_display="t 1-6", id="replay.type_filter"
        ),
        Binding("slash", "search", "Search", key_display="/", id="replay.search"),
        Binding("f", "follow", "Follow", id="replay.follow"),
        Binding("e", "export_jsonl", "Export JSONL", show=False, id="replay.export_jsonl"),
        Binding("c", "export_cast", "Export .cast", id="replay.export_cast"),
        # One key, two entries: the footer, the help and the palette say which it does now.
        Binding("z", "zoom", "Zoom", id="replay.zoom"),
        Binding("z", "unzoom", "Unzoom", id="replay.unzoom"),
        *(
            Binding(
                f"shift+{key}", f"pan({dx}, {dy})", f"Scroll the terminal {key}", show=False,
                id=f"replay.pan_{key}",
            )
            for key, dx, dy in (
                ("left", -PAN_COLUMNS, 0), ("right", PAN_COLUMNS, 0),
                ("up", 0, -PAN_ROWS), ("down", 0, PAN_ROWS),
            )
        ),
    ]  # fmt: skip

    playhead: var[int] = var(0, init=False)
    playing: var[bool] = var(False, init=False)
    speed: var[float] = var(1.0, init=False)
    idle_cap: var[float] = var(IDLE_CAP, init=False)
    following: var[bool] = var(False, init=False)
    kinds: var[frozenset[Kind]] = var(frozenset, init=False)
    #: ``t`` was pressed: the next digit toggles a type instead of jumping.
    choosing_type: var[bool] = var(False, init=False)
    search: var[str] = var("", init=False)
    #: The terminal pane fills the screen's body (timeline, detail and summary hidden).
    zoomed: var[bool] = var(False, init=False)

    # ------------------------------------------------------------------ messages

    @dataclass
    class Opened(Message):
        """The session, its summary and its first page."""

        session: AgentSession
        summary: ReplaySummary
        first: list[ReplayEvent]

    @dataclass
    class OpenFailed(Message):
        """The session could not be opened (the platform's reason)."""

        reason: str

    @dataclass
    class PageLoaded(Message):
        """A page of the timeline arrived."""

        page: int
        events: list[ReplayEvent]

    @dataclass
    class TotalsLoaded(Message):
        """Every ``llm_call`` and the trust deductions (the running totals)."""

        llm_calls: list[ReplayEvent]
        deductions: list[TrustDeduction]

    @dataclass
    class TapeLoaded(Message):
        """The recorded terminal output."""

        tape: TerminalTape

    @dataclass
    class KeyframesBuilt(Message):
        """Keyframes of the terminal tape, computed in a thread."""

        keyframes: list[Keyframe]

    @dataclass
    class Matched(Message):
        """More events matching the filter (``done``: all of them)."""

        generation: int
        events: list[ReplayEvent]
        done: bool

    @dataclass
    class Exported(Message):
        """An export was written."""

        path: Path
        count: int
        what: str

    @dataclass
    class ExportExists(Message):
        """The export's file exists: ask before replacing it."""

        path: Path
        default_name: str
        cast: bool

    @dataclass
    class ExportFailed(Message):
        """An export could not be written (the reason, as the system or platform said)."""

        path: Path
        reason: str

    # ------------------------------------------------------------------ building

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
        self.session: AgentSession | None = None
        self.summary: ReplaySummary | None = None
        self._start: datetime | None = None
        self.totals = RunningTotals()
        self.timeline = TimelineSource(self._cells, len(COLUMNS), self._request_page)
        self.tape: TerminalTape | None = None
        self._fed = 0
        self._types: Counter[str] = Counter()
        # The filtered view: matching events (a list source), their sequences, a generation
        # that makes answers of an older filter be ignored.
        self.matches: ListSource[ReplayEvent] = ListSource(
            lambda e: str(e.sequence), lambda e, _: self._cells(e), self.now()
        )
        self._matched: list[ReplayEvent] = []
        self._match_seqs: list[int] = []
        self._generation = 0
        self._matching_done = False
        self._cursor_target: str | None = None
        self._ticker: Timer | None = None
        self._last_tick = 0.0
        self._budget = 0.0
        self._detail_at = 0.0
        #: What the detail pane shows (an event's sequence, or a note), so that an
        #: unchanged one is not laid out again.
        self._detail_shown: object = None
        #: Held while playing: no full collection of the whole heap stalls a frame.
        self.collector = CollectorHold()
        terminal = TerminalView(id="replay-terminal", scrollback=0)
        terminal.can_focus = False
        self._pane = TerminalPane(terminal, crop_hint="z to zoom", id="replay-terminal-pane")

    def compose_body(self) -> ComposeResult:
        yield Static(f"Loading {self.session_id}…", id="replay-summary")
        with Horizontal(id="replay-main"):
            with Vertical(id="replay-left"):
                yield Input(placeholder="search the summaries", id="replay-search")
                yield Static(id="replay-filters")
                yield TimelineTable(COLUMNS, self.timeline, id="replay-timeline")
            with Vertical(id="replay-right"):
                yield self._pane
                with VerticalScroll(id="replay-detail-scroll"):
                    yield Static(id="replay-detail")
        yield TextLine(id="replay-totals")
        yield TextLine(id="replay-position")

    def on_mount(self) -> None:
        super().on_mount()
        self._render_filters()
        self._render_position()
        self.open_session()
        self.caged.live.subscribe(self, _follow_topic(self), self._tail_arrived)

    @property
    def table(self) -> TimelineTable:
        """The timeline widget."""
        return self.query_one(TimelineTable)

    @property
    def terminal(self) -> TerminalView:
        """The recorded terminal."""
        return self.query_one(TerminalView)

    @property
    def terminal_pane(self) -> TerminalPane:
        """The pane that scrolls the recorded terminal."""
        return self._pane

    @property
    def filtered(self) -> bool:
        """Whether a type filter or a search is on."""
        return bool(self.kinds or self.search.strip())

    def _cells(self, event: ReplayEvent) -> tuple[Cell, ...]:
        style = f"timeline--{ev.kind_of(event).value}"
        since = 0.0
        if self._start is not None and event.timestamp is not None:
            since = (event.timestamp - self._start).total_seconds()
        llm = ""
        if event.type == "llm_call":
            tokens_in, tokens_out = ev.llm_tokens(event)
            llm = f"{fmt.tokens(tokens_in + tokens_out)} {fmt.money(ev.llm_cost(event))}"
        points = self.totals.points_at(event.sequence)
        duration = "" if event.duration_ms is None else fmt.duration(event.duration_ms / 1000)
        if event.duration_ms is not None and event.duration_ms < 1000:
            duration = f"{event.duration_ms:.0f}ms"
        return (
            (ev.icon(event), style),
            (clock(since), ""),
            (fmt.one_line(ev.summary(event), SUMMARY_WIDTH), style),
            (duration, ""),
            (llm, ""),
            (f"-{points}" if points else "", "timeline--deduction" if points else ""),
        )

    # ------------------------------------------------------------------ loading

    @work(group="replay.open", exit_on_error=False, description="Opening the replay")
    async def open_session(self) -> None:
        """The session, its summary and the first page, at once."""
        client = self.client
        try:
            session, summary, first = await asyncio.gather(
                client.sessions.get(self.session_id),
                client.sessions.replay_summary(self.session_id),
                client.sessions.replay(self.session_id, after_seq=0, limit=PAGE),
            )
        except CagedError as error:
            # Said where the summary would be, and toasted by the central handler.
            self.post_message(self.OpenFailed(str(error)))
            raise
        self.post_message(self.Opened(session, summary, first.items))

    @on(OpenFailed)
    def _open_failed(self, event: OpenFailed) -> None:
        self.query_one("#replay-summary", Static).update(
            f"Could not open {self.session_id}: {event.reason}"
        )

    @on(Opened)
    def _opened(self, event: Opened) -> None:
        self.session, self.summary = event.session, event.summary
        self._start = event.summary.start_time or (
            event.first[0].timestamp if event.first else event.session.started_at
        )
        self._types = Counter(event.summary.types)
        self.timeline.total = max(event.summary.event_count, event.session.event_count)
        self.timeline.add_page(0, event.first)
        self.table.source_changed()
        self._render_summary()
        self.load_totals()
        self.load_terminal(self._terminal_size(event.first))
        if event.first:
            self.playhead = event.first[0].sequence
        self._show_playhead()

    def _request_page(self, page: int) -> None:
        self.run_worker(
            self._fetch_page(page), group="replay.pages", exit_on_error=False,
            description="Loading replay events",
        )  # fmt: skip

    async def _fetch_page(self, page: int) -> None:
        try:
            answer = await self.client.sessions.replay(
                self.session_id, after_seq=self.timeline.after_seq(page), limit=PAGE
            )
        except Exception:
            self.timeline.failed(page)
            raise
        self.post_message(self.PageLoaded(page, answer.items))

    @on(PageLoaded)
    def _page_loaded(self, event: PageLoaded) -> None:
        self.timeline.add_page(event.page, event.events)
        if not self.filtered:
            self.table.refresh()
        first, last = event.page * PAGE + 1, (event.page + 1) * PAGE
        if first <= self.playhead <= last:
            self._show_playhead()

    @work(group="replay.totals", exit_on_error=False, description="Loading costs and trust")
    async def load_totals(self) -> None:
        """Every LLM call (for cost and tokens) and the session's trust deductions."""
        client = self.client
        calls = [
            e async for e in client.sessions.replay(self.session_id, type="llm_call", limit=1000)
        ]
        deductions: list[TrustDeduction] = []
        if self.session is not None and self.session.sandbox_id:
            scores = await client.sandboxes.trust_scores(self.session.sandbox_id)
            for score in scores:
                if score.session_id == self.session_id:
                    deductions = score.deductions
        self.post_message(self.TotalsLoaded(calls, deductions))

    @on(TotalsLoaded)
    def _totals_loaded(self, event: TotalsLoaded) -> None:
        self.totals = RunningTotals()
        self.totals.add_llm_calls(event.llm_calls)
        self.totals.set_deductions(event.deductions)
        self.timeline.refresh_rows()
        self.matches.reformat()
        self.table.source_changed()
        self._show_playhead()

    @staticmethod
    def _terminal_size(first: list[ReplayEvent]) -> tuple[int, int]:
        """The recorded terminal's size, when its opening event says it."""
        for event in first:
            cols, rows = event.data.get("cols"), event.data.get("rows")
            if event.type == "lifecycle" and isinstance(cols, int) and isinstance(rows, int):
                return max(2, cols), max(2, rows)
        return DEFAULT_SIZE

    @work(group="replay.terminal", exit_on_error=False, description="Loading terminal output")
    async def load_terminal(self, size: tuple[int, int]) -> None:
        """The recorded terminal output (``other`` events of kind terminal_output)."""
        tape = TerminalTape(*size)
        async for event in self.client.sessions.replay(self.session_id, type="other", limit=1000):
            add_to_tape(tape, event)
        self.post_message(self.TapeLoaded(tape))

    @on(TapeLoaded)
    def _tape_loaded(self, event: TapeLoaded) -> None:
        # Kept even empty: a followed session may start its terminal output later.
        self.tape = event.tape
        self._show_recorded_terminal()

    @property
    def _recorded(self) -> bool:
        """Whether the session has terminal output to show."""
        return self.tape is not None and bool(self.tape.steps)

    def _show_recorded_terminal(self) -> None:
        """Show the terminal pane once the tape holds output (at load, or when following)."""
        tape = self.tape
        if tape is None or not tape.steps or self.terminal_pane.has_class("-shown"):
            return
        self.refresh_bindings()  # z zooms now
        # On the pane, not the screen: a class on the screen restyles every widget in it.
        self.terminal_pane.add_class("-shown")
        self.terminal.show(tape.keyframes[0].screen)
        self._fed = 0
        self._show_terminal()
        self.build_keyframes(list(tape.steps), tape.columns, tape.lines)

    @work(thread=True, group="replay.keyframes", exit_on_error=False, description="Keyframes")
    def build_keyframes(self, steps: list[Step], columns: int, lines: int) -> None:
        """Parse the recording once, in a thread, keeping keyframes for backward seeks."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        frames = build_keyframes(steps, columns, lines, cancelled=lambda: worker.is_cancelled)
        self.post_message(self.KeyframesBuilt(frames))

    @on(KeyframesBuilt)
    def _keyframes_built(self, event: KeyframesBuilt) -> None:
        if self.tape is not None:
            self.tape.keyframes = event.keyframes

    # ------------------------------------------------------------------ the playhead

    def watch_playhead(self) -> None:
        self._show_playhead()

    def _show_playhead(self) -> None:
        if not self.is_mounted:
            return
        self._move_cursor()
        self._show_terminal()
        self._render_totals()
        self._render_position()
        now = time.monotonic()
        if not self.playing or (
            self.speed <= DETAIL_UP_TO_SPEED and now - self._detail_at >= DETAIL_EVERY
        ):
            self._detail_at = now
            self._render_detail()

    def _move_cursor(self) -> None:
        if self.filtered:
            index = bisect.bisect_right(self._match_seqs, self.playhead) - 1
            key = str(self._match_seqs[max(0, index)]) if self._match_seqs else None
        else:
            key = str(self.playhead) if self.playhead else None
        table = self.table
        if key is None or key == table.cursor_key:
            return
        self._cursor_target = key
        row = table.source.index_of(key)
        if self.playing and row is not None and row >= table.scroll_y + table.page_height:
            # Playing off the bottom: turn the page (the row near the top), as less does,
            # rather than scroll a row per tick — each scroll repaints the whole table.
            table.scroll_to(y=max(0, row - 1), animate=False, immediate=True)
        table.move_to(key)

    @on(VirtualTable.CursorMoved)
    def _cursor_moved(self, event: VirtualTable.CursorMoved) -> None:
        table = self.table
        if event.table is not table or event.key is None or event.key != table.cursor_key:
            return  # not the timeline, or stale: the cursor moved on since
        if event.key == self._cursor_target:
            return  # our own move to the playhead
        self._cursor_target = None
        self.seek(int(event.key))

    def seek(self, sequence: int) -> None:
        """Put the playhead on event ``sequence`` (within the session)."""
        sequence = max(1, min(sequence, self.timeline.total))
        if self.following and sequence < self.timeline.total:
            self.following = False
            self.notify("Stopped following (f follows again).")
        self._budget = 0.0
        self.playhead = sequence

    def _show_terminal(self) -> None:
        tape = self.tape
        if tape is None or not tape.steps:
            return
        plan = tape.plan(self.playhead, self._fed)
        view = self.terminal
        if plan.restore is not None:
            view.show(plan.restore)
        for step in plan.steps:
            if isinstance(step, tuple):
                view.terminal.resize(lines=step[1], columns=step[0])
                view.feed_text("")  # repaints at the next flush
            else:
                view.feed_text(step)
        self._fed = plan.fed
        pane = self.terminal_pane
        pane.fit()
        pane.follow_cursor()

    # ------------------------------------------------------------------ playing

    def watch_playing(self, playing: bool) -> None:
        if playing:
            self._last_tick = time.monotonic()
            self._budget = 0.0
            # Full collections of the whole heap would stall a frame a second.
            self.collector.start()
            if self._ticker is None:
                self._ticker = self.set_interval(TICK, self._tick)
            else:
                self._ticker.resume()
        else:
            if self._ticker is not None:
                self._ticker.pause()
            self.collector.stop()
        self._render_detail()
        self._render_position()

    def on_unmount(self) -> None:
        self.collector.stop()

    def _gap_after(self, offset: int) -> float | None:
        """Played seconds before the event ``offset`` places after the playhead."""
        before = self.timeline.event(self.playhead + offset)
        after = self.timeline.event(self.playhead + offset + 1)
        if before is None or after is None:
            return None
        return gap(before.timestamp, after.timestamp, self.idle_cap)

    def _tick(self) -> None:
        self.collector.tick()
        now = time.monotonic()
        self._budget += (now - self._last_tick) * self.speed
        self._last_tick = now
        taken, self._budget = advance(self._budget, self._gap_after)
        if taken:
            self.playhead += taken
        # Keep the next page coming before playback reaches it.
        self.timeline.want((self.playhead + PAGE // 2) // PAGE)
        if self.playhead >= self.timeline.total:
            self.playing = False

    def play_steps(self, count: int) -> int:
        """Play ``count`` events as the ticker would (the benchmark's unit of work);
        returns how many were available."""
        taken, _ = advance(
            float("inf"), lambda n: 0.0 if n < count and self._gap_after(n) is not None else None
        )
        self.playhead += taken
        return taken

    # ------------------------------------------------------------------ following

    def _tail_arrived(self, events: tuple[ReplayEvent, ...]) -> None:
        new = [e for e in events if e.sequence > self.timeline.total]
        if not new:
            return
        self.timeline.append(new)
        self.totals.add_llm_calls(new)
        self._types.update(e.type for e in new)
        if self.tape is not None:
            for event in new:
                add_to_tape(self.tape, event)
            self._show_recorded_terminal()
        if self.filtered:
            self._add_matches(new)
        self.table.source_changed()
        self._render_summary()
        if self.following:
            self.playhead = self.timeline.total

    def watch_following(self, following: bool) -> None:
        if following:
            self.playing = False
            self.caged.live.poke()
            self.playhead = self.timeline.total
        self._render_position()

    # ------------------------------------------------------------------ filtering

    def watch_kinds(self) -> None:
        self._refilter()

    def watch_search(self) -> None:
        self._refilter()

    def _matches(self, event: ReplayEvent) -> bool:
        if self.kinds and ev.kind_of(event) not in self.kinds:
            return False
        needle = self.search.strip().lower()
        return not needle or needle in ev.summary(event).lower()

    def _refilter(self) -> None:
        self._generation += 1
        self._matched, self._match_seqs = [], []
        self._matching_done = not self.filtered
        self.matches.update([])
        table = self.table
        table.source = self.matches if self.filtered else self.timeline
        table.source_changed()
        self._render_filters()
        if self.filtered:
            self.gather_matches(self._generation, frozenset(self.kinds))
        self._move_cursor()

    @work(group="replay.filter", exclusive=True, exit_on_error=False, description="Filtering")
    async def gather_matches(self, generation: int, kinds: frozenset[Kind]) -> None:
        """Walk the session's events (only the one type asked for, when one will do)."""
        types = {ev.SERVER_TYPE.get(kind) for kind in kinds}
        type_ = types.pop() if len(types) == 1 and kinds else None
        batch: list[ReplayEvent] = []
        async for event in self.client.sessions.replay(self.session_id, type=type_, limit=1000):
            batch.append(event)
            if len(batch) >= 1000:
                self.post_message(self.Matched(generation, batch, False))
                batch = []
        self.post_message(self.Matched(generation, batch, True))

    @on(Matched)
    def _matched_arrived(self, event: Matched) -> None:
        if event.generation != self._generation:
            return
        self._add_matches(event.events)
        self._matching_done = event.done
        self.table.source_changed()
        self._move_cursor()
        self._render_filters()

    def _add_matches(self, events: list[ReplayEvent]) -> None:
        fresh = [e for e in events if self._matches(e)]
        if not fresh:
            return
        self._matched += fresh
        self._match_seqs += [e.sequence for e in fresh]
        self.matches.update(self._matched)

    # ------------------------------------------------------------------ rendering

    def _render_summary(self) -> None:
        session, summary = self.session, self.summary
        if session is None or summary is None:
            return
        counts = " · ".join(f"{t} {n}" for t, n in sorted(self._types.items()))
        trust = fmt.DASH if session.trust_score is None else str(session.trust_score)
        band = (
            f" ({fmt.trust_band(session.trust_score)})" if session.trust_score is not None else ""
        )
        live = "● live" if session.status.value == "active" else session.status.value
        text = Text()
        text.append(f"{session.id}", style="bold")
        text.append(f" · {session.agent_type or 'agent'} · {session.model or fmt.DASH} · {live}")
        text.append(f" · {fmt.duration(summary.duration_ms / 1000)}")
        text.append(
            f" · cost {fmt.money(session.total_cost)} = LLM {fmt.money(session.llm_cost)}"
            f" + compute {fmt.money(session.compute_cost)} · final trust {trust}{band}\n"
        )
        text.append(f"{self.timeline.total} events: {counts}", style="dim")
        self.query_one("#replay-summary", Static).update(text)

    def _render_filters(self) -> None:
        # What is shown first: the line is cut at the pane's width (~60 columns at 120).
        line = Text()
        if self.filtered:
            more = "" if self._matching_done else " (searching…)"
            line.append(f"{len(self._matched)} shown{more} · ", style="bold")
        if self.search.strip():
            line.append(f"search {self.search.strip()!r} · ")
        prompt = Text("type 1-6 (0 all):", style="bold reverse")
        line.append_text(prompt if self.choosing_type else Text("t 1-6 types:"))
        for n, kind in enumerate(KINDS, start=1):
            shown = not self.kinds or kind in self.kinds
            line.append(f" {n} {kind.value}", style="bold" if shown else "dim strike")
        self.query_one("#replay-filters", Static).update(line)

    def _render_detail(self) -> None:
        if not self.is_mounted:
            return
        body = self.query_one("#replay-detail", Static)
        if self.playing and self.speed > DETAIL_UP_TO_SPEED:
            if self._detail_shown != "playing":
                self._detail_shown = "playing"
                body.update(
                    Text(
                        f"Playing faster than {DETAIL_UP_TO_SPEED:g}x: an event's detail"
                        " shows when paused (space) or stepped (← →).",
                        style="dim",
                    )
                )
            return
        event = self.timeline.event(self.playhead) if self.playhead else None
        shown = (event.sequence, self.totals.deduction_at(event.sequence)) if event else None
        if event is not None and shown == self._detail_shown:
            return
        self._detail_shown = shown
        if event is None:
            body.update("Loading…" if self.timeline.total else "No events in this session.")
            return
        body.update(ev.detail(event, self.totals.deduction_at(event.sequence)))

    def _render_totals(self) -> None:
        totals = self.totals.at(self.playhead)
        text = Text()
        text.append("at the playhead: ", style="dim")
        text.append(f"cost {fmt.money(totals.cost)}")
        text.append(f" · tokens {fmt.tokens(totals.tokens_in)}/{fmt.tokens(totals.tokens_out)}")
        text.append(
            f" · trust {totals.trust}", style=f"bold {_BAND_STYLE[fmt.trust_band(totals.trust)]}"
        )
        for deduction in totals.deductions[-3:]:
            text.append(
                f"  -{deduction.points} {deduction.rule} @#{deduction.sequence}", style="red"
            )
        self.query_one("#replay-totals", TextLine).text = text

    def _render_position(self) -> None:
        if not self.is_mounted:
            return
        total_events = self.timeline.total
        elapsed = 0.0
        event = self.timeline.event(self.playhead) if self.playhead else None
        if event is not None and event.timestamp is not None and self._start is not None:
            elapsed = (event.timestamp - self._start).total_seconds()
        duration = (self.summary.duration_ms / 1000) if self.summary else 0.0
        state = "▶" if self.playing else ("◉ following" if self.following else "⏸")
        bar = position_bar(self.playhead / total_events if total_events else 0.0, 30)
        self.query_one("#replay-position", TextLine).text = (
            f"{state} {self.speed:g}x {bar} {clock(elapsed)} / {clock(duration)}"
            f" · event {self.playhead}/{total_events} · idle cap {self.idle_cap:g}s"
            + (" · zoomed (z: back)" if self.zoomed else "")
        )

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Close the search (and drop it: nothing would show it is on), else go back."""
        box = self.query_one("#replay-search", Input)
        if box.has_class("-open"):
            box.value = ""
            box.remove_class("-open")
            self.search = ""
            self.table.focus()
            return
        self.app.pop_screen()

    def action_play_pause(self) -> None:
        """Play from the playhead, or pause."""
        if not self.playing and self.playhead >= self.timeline.total:
            self.seek(1)  # at the end: play again from the start
        self.following = False
        self.playing = not self.playing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """← → (and shift with them) edit the search box while it has the focus; ``z``
        zooms or unzooms (dimmed while there is no terminal to zoom)."""
        if action == "zoom":
            return False if self.zoomed else (True if self._recorded else None)
        if action == "unzoom":
            return self.zoomed
        return not (action in ("step", "pan") and isinstance(self.focused, Input))

    def action_step(self, direction: int) -> None:
        """One event back or forward (a shown one, with a filter on); pauses."""
        self.playing = False
        if self.filtered:
            seqs = self._match_seqs
            if direction > 0:
                index = bisect.bisect_right(seqs, self.playhead)
            else:
                index = bisect.bisect_left(seqs, self.playhead) - 1
            if 0 <= index < len(seqs):
                self.seek(seqs[index])
            return
        self.seek(self.playhead + direction)

    def action_speed(self, direction: int) -> None:
        """Play slower or faster (0.25x … 64x)."""
        self.speed = step_speed(self.speed, direction)

    def watch_speed(self) -> None:
        self._render_detail()
        self._render_position()

    def action_idle_cap(self, direction: int) -> None:
        """Shorter or longer idle-time cap (pauses longer than it play as it)."""
        self.idle_cap = step_cap(self.idle_cap, direction)

    def watch_idle_cap(self) -> None:
        self._render_position()

    def action_jump(self, tenth: int) -> None:
        """Jump to ``tenth`` x 10 % of the events."""
        self.seek(max(1, self.timeline.total * tenth // 10))

    def action_choose_type(self) -> None:
        """The next digit (1-6) toggles a type: the first shows only it, later ones add
        or remove types; ``t`` then ``0`` shows every type again."""
        self.choosing_type = not self.choosing_type

    def action_digit(self, digit: int) -> None:
        """Jump to ``digit`` x 10 %, or toggle a type right after ``t``."""
        if not self.choosing_type:
            self.action_jump(digit)
            return
        self.choosing_type = False
        if digit == 0:
            self.kinds = frozenset()
        elif digit <= len(KINDS):
            self.toggle_kind(KINDS[digit - 1])

    def toggle_kind(self, kind: Kind) -> None:
        """Show only ``kind`` (the first toggle), or add / remove it from those shown."""
        self.kinds = self.kinds ^ {kind}

    def watch_choosing_type(self) -> None:
        self._render_filters()

    def action_search(self) -> None:
        """Search the one-line summaries."""
        box = self.query_one("#replay-search", Input)
        box.add_class("-open")
        self.call_after_refresh(box.focus)

    @on(Input.Submitted, "#replay-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.search = event.value
        self.table.focus()

    def action_zoom(self) -> None:
        """The terminal pane fills the screen's body; playback keys keep working."""
        self.zoomed = True

    def action_unzoom(self) -> None:
        """Back to the timeline, detail and terminal side by side."""
        self.zoomed = False

    def watch_zoomed(self, zoomed: bool) -> None:
        # On the body's container, not the screen: a class on the screen restyles it all.
        self.query_one("#replay-main").set_class(zoomed, "-zoomed")
        if not zoomed:
            self.table.focus()  # hiding it took the focus away
        self.query_one("#replay-summary").display = not zoomed
        self._pane.crop_hint = "shift+arrows scroll" if zoomed else "z to zoom"
        self.refresh_bindings()
        self._render_position()

    def action_pan(self, columns: int, rows: int) -> None:
        """Scroll a terminal larger than its pane."""
        self._pane.pan(columns, rows)

    def action_follow(self) -> None:
        """Follow the session's new events live (moving off the tail stops it)."""
        self.following = not self.following

    def action_export_jsonl(self) -> None:
        """Export every event as JSON Lines, to a file the user names."""
        self.ask_export(cast=False)

    def action_export_cast(self) -> None:
        """Export the terminal recording as asciinema v2 ``.cast``, to a file the user names."""
        self.ask_export(cast=True)

    def ask_export(self, *, cast: bool, answer: str | None = None) -> None:
        """Ask where to export (prefilled with ``<session>.cast`` / ``.jsonl`` in the
        working directory, or the last ``answer``)."""
        default_name = default_export_name(self.session_id, ".cast" if cast else ".jsonl")
        what = "terminal recording (asciinema .cast)" if cast else "events (JSON Lines)"
        label = f"Save to (a file, or a folder to hold {default_name})"
        field = Field("path", label, answer or str(Path.cwd() / default_name))

        def answered(values: dict[str, str] | None) -> None:
            if values:
                self.export(values["path"], default_name, cast=cast)

        self.app.push_screen(FormDialog(f"Export the {what}", [field], "Export"), answered)

    @work(group="replay.export", exit_on_error=False, description="Exporting")
    async def export(
        self, answer: str, default_name: str, *, cast: bool, overwrite: bool = False
    ) -> None:
        """Stream the events to the file ``answer`` names, a page at a time (file work in
        a thread); an existing file is replaced only once the user confirmed it."""
        try:
            path = await asyncio.to_thread(export_path, answer, default_name, Path.cwd())
        except RuntimeError as error:  # ~user of no user: "Could not determine home directory."
            self.post_message(self.ExportFailed(Path(answer.strip()), str(error)))
            return
        target = ExportFile(path, overwrite=overwrite)
        count = 0
        try:
            await asyncio.to_thread(target.open)
            if cast:
                columns, lines = (self.tape.columns, self.tape.lines) if self.tape else DEFAULT_SIZE
                header = cast_header(
                    columns, lines, start=self._start, title=self.session_id,
                    idle_time_limit=self.idle_cap,
                )  # fmt: skip
                await asyncio.to_thread(target.write, [header])
            writer = CastWriter(self._start)
            first = await self.client.sessions.replay(
                self.session_id, after_seq=0, limit=1000, type="other" if cast else None
            )
            async for page in first.iter_pages():
                lines_ = list(writer.lines(page) if cast else jsonl_lines(page))
                await asyncio.to_thread(target.write, lines_)
                count += len(lines_)
            await asyncio.to_thread(target.commit)
        except FileExistsError:
            await asyncio.to_thread(target.discard)
            self.post_message(self.ExportExists(path, default_name, cast))
            return
        except (OSError, CagedError) as error:
            await asyncio.to_thread(target.discard)
            reason = (error.strerror or str(error)) if isinstance(error, OSError) else str(error)
            self.post_message(self.ExportFailed(path, reason))
            return
        except BaseException:  # Cancelled (the screen left) or unforeseen: no half file.
            target.discard()
            raise
        what = "terminal chunks" if cast else "events"
        self.post_message(self.Exported(path, count, what))

    @on(ExportExists)
    def _export_exists(self, event: ExportExists) -> None:
        def confirmed(answer: bool | None) -> None:
            if answer:
                self.export(str(event.path), event.default_name, cast=event.cast, overwrite=True)
            else:  # back to the path, to pick another name
                self.ask_export(cast=event.cast, answer=str(event.path))

        dialog = ConfirmDialog(
            f"Replace {event.path.name}?",
            f"{event.path}\n\nThis file exists. Exporting replaces what it holds.",
            confirm_label="Replace",
        )
        self.app.push_screen(dialog, confirmed)

    @on(ExportFailed)
    def _export_failed(self, event: ExportFailed) -> None:
        self.notify(
            f"Could not export to {event.path}: {event.reason}",
            title="Export failed",
            severity="error",
        )

    @on(Exported)
    def _exported(self, event: Exported) -> None:
        if event.count == 0 and event.what == "terminal chunks":
            self.notify(
                f"This session recorded no terminal output: {event.path} holds only the"
                " .cast header.",
                title="Export",
                severity="warning",
            )
            return
        self.notify(f"Exported {event.count} {event.what} to {event.path}", title="Export")


_BAND_STYLE = {"excellent": "green", "good": "cyan", "caution": "yellow", "alert": "red"}
