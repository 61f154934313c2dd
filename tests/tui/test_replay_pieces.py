"""The replay's parts without a screen: windowed timeline, playback arithmetic, running
totals, terminal keyframes and the asciinema v2 export (read back by asciinema itself)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asciinema import asciicast

from caged_core.models import ReplayEvent, TrustDeduction
from caged_tui.replay import events as ev
from caged_tui.replay.export import (
    CastWriter,
    ExportFile,
    cast_header,
    default_export_name,
    export_path,
    jsonl_lines,
)
from caged_tui.replay.keyframes import TerminalTape, blank_screen, build_keyframes, play
from caged_tui.replay.playback import SPEEDS, advance, gap, step_cap, step_speed
from caged_tui.replay.timeline import PAGE, TimelineSource
from caged_tui.replay.totals import RunningTotals
from caged_tui.widgets.terminal.stream import TerminalStream

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def event(
    seq: int, type_: str = "command", seconds: float | None = None, **data: Any
) -> ReplayEvent:
    return ReplayEvent(
        id=f"evt-{seq}",
        session_id="sess-1",
        sequence=seq,
        type=type_,
        timestamp=START + timedelta(seconds=seq if seconds is None else seconds),
        data=data,
    )


def output(seq: int, text: str, seconds: float | None = None) -> ReplayEvent:
    return event(seq, "other", seconds, kind="terminal_output", data=text, offset=0)


def test_the_timeline_asks_once_for_each_page_it_shows() -> None:
    asked: list[int] = []
    source = TimelineSource(lambda e: ((str(e.sequence), ""),), 1, asked.append)
    source.total = 100_000
    rows = source.rows(99_990, 100_000)  # the end: one page, by after_seq
    assert [r.key for r in rows] == [str(n) for n in range(99_991, 100_001)]
    assert asked == [99_990 // PAGE]
    source.rows(99_990, 100_000)
    assert asked == [99_990 // PAGE]  # asked already
    page = asked[0]
    assert source.after_seq(page) == page * PAGE
    source.add_page(page, [event(n) for n in range(page * PAGE + 1, page * PAGE + PAGE + 1)])
    assert [r.cells[0][0] for r in source.rows(99_998, 100_000)] == ["99999", "100000"]
    assert source.event(100_000) is not None and source.event(1) is None
    assert source.index_of("100000") == 99_999


def test_following_appends_to_the_tail() -> None:
    source = TimelineSource(lambda e: ((str(e.sequence), ""),), 1, lambda page: None)
    source.total = 3
    source.add_page(0, [event(1), event(2), event(3)])
    source.append([event(4), event(5)])
    assert source.total == 5
    assert [r.key for r in source.rows(0, 5)] == ["1", "2", "3", "4", "5"]


def test_playback_caps_idle_time_and_steps_speeds() -> None:
    assert gap(START, START + timedelta(minutes=10), 2.0) == 2.0
    assert gap(START, START + timedelta(seconds=0.5), 2.0) == 0.5
    assert step_speed(1.0, 1) == 2.0 and step_speed(64.0, 1) == 64.0
    assert step_speed(0.25, -1) == 0.25 and SPEEDS[0] == 0.25
    assert step_cap(2.0, 1) == 5.0
    gaps = [1.0, 1.0, 3.0]
    assert advance(2.5, lambda n: gaps[n] if n < len(gaps) else None) == (2, 0.5)
    # The end (or a page still loading): wait there, without saving the budget up.
    assert advance(100.0, lambda n: gaps[n] if n < len(gaps) else None) == (3, 0.0)


def test_running_totals_at_each_event() -> None:
    totals = RunningTotals()
    totals.add_llm_calls(
        [event(2, "llm_call", tokens_in=10, tokens_out=5, cost_usd=0.5),
         event(5, "llm_call", input_tokens=1, output_tokens=1, cost_usd=0.25)]
    )  # fmt: skip
    totals.set_deductions([TrustDeduction(rule="r", points=20, reason="why", sequence=4)])
    assert totals.at(1).cost == 0.0
    assert totals.at(4).cost == 0.5 and totals.at(4).trust == 80
    assert totals.at(9).cost == 0.75 and (totals.at(9).tokens_in, totals.at(9).tokens_out) == (
        11,
        6,
    )
    assert totals.points_at(4) == 20 and totals.deduction_at(4) == "-20 r: why"


def test_event_summaries_and_kinds() -> None:
    assert ev.kind_of(output(1, "hi")) is ev.Kind.TERMINAL
    assert ev.kind_of(event(1, "command", command="ls")) is ev.Kind.COMMANDS
    assert ev.summary(event(1, "command", command="ls", exit_code=2)) == "ls  → exit 2"
    diff = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n+c\n"
    assert ev.summary(event(1, "file_op", path="x", kind="modify", diff=diff)) == (
        "modify x  +2 -1"
    )
    assert ev.summary(output(1, "\x1b[31mred\x1b[0m\r\n")).endswith("red")


def _played(steps: list[str | tuple[int, int]], columns: int = 20, lines: int = 4) -> list[str]:
    screen = blank_screen(columns, lines)
    stream = TerminalStream(screen)
    for step in steps:
        play(screen, stream, step)
    return list(screen.display)


def test_a_backward_seek_from_a_keyframe_shows_what_playing_forward_did() -> None:
    chunks: list[str | tuple[int, int]] = [
        f"line {n} \x1b[3{n % 8}mcolour\x1b[0m\r\n" for n in range(60)
    ]
    chunks[30] = (30, 5)  # a resize in the middle
    tape = TerminalTape(20, 4)
    for seq, chunk in enumerate(chunks, start=1):
        tape.add(seq * 2, chunk)  # other events in between
    tape.keyframes = build_keyframes(tape.steps, 20, 4, every=100)
    assert len(tape.keyframes) > 5
    for target in (95, 61, 40, 3):
        plan = tape.plan(target, fed=len(chunks))  # from the end, backwards
        assert plan.restore is not None
        screen = plan.restore
        stream = TerminalStream(screen)
        for step in plan.steps:
            play(screen, stream, step)
        assert list(screen.display) == _played(chunks[: target // 2]), target


def test_jsonl_is_one_event_per_line() -> None:
    lines = list(jsonl_lines([event(1, command="ls"), output(2, "x")]))
    assert [ReplayEvent.model_validate_json(line).sequence for line in lines] == [1, 2]


def test_the_cast_is_asciinema_v2(tmp_path: Path) -> None:
    events = [
        event(1, "lifecycle", action="open"),
        output(2, "\x1b[32mhello\x1b[0m\r\n", seconds=1.5),
        event(3, "other", seconds=2.0, kind="terminal_resize", cols=100, rows=30),
        output(4, "é wide ✓\r\n", seconds=1.0),  # a clock step back must not go back
    ]
    writer = CastWriter(START)
    path = tmp_path / "session.cast"
    path.write_text(
        cast_header(80, 24, start=START, title="sess-1", idle_time_limit=2.0)
        + "".join(writer.lines(events))
    )
    assert_asciicast_v2(path)
    with asciicast.open_from_url(str(path)) as cast:
        assert [e[1:] for e in cast.events()] == [
            ["o", "\x1b[32mhello\x1b[0m\r\n"],
            ["r", "100x30"],
            ["o", "é wide ✓\r\n"],
        ]


def assert_asciicast_v2(path: Path) -> None:
    """The asciicast v2 format, checked line by line, and read by asciinema itself."""
    first, *rest = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(first)
    assert header["version"] == 2
    assert isinstance(header["width"], int) and header["width"] > 0
    assert isinstance(header["height"], int) and header["height"] > 0
    last = 0.0
    for line in rest:
        when, code, data = json.loads(line)
        assert isinstance(when, float | int) and when >= last
        assert code in ("o", "i", "m", "r") and isinstance(data, str)
        last = when
    with asciicast.open_from_url(str(path)) as cast:
        assert cast.v2_header["version"] == 2
        assert len(list(cast.events())) == len(rest)


@pytest.mark.parametrize("speed", SPEEDS)
def test_every_speed_is_reached_with_the_keys(speed: float) -> None:
    reached = 1.0
    for _ in range(len(SPEEDS)):
        if reached != speed:
            reached = step_speed(reached, 1 if speed > reached else -1)
    assert reached == speed


async def test_a_followed_topic_is_fetched_between_the_feeds_rounds() -> None:
    """Following a replay asks every half second even while the feed backs off."""
    from test_skeleton import _FeedApp, _no_client

    from caged_tui.live import Fetched, LiveFeed, TopicSpec

    clock = [0.0]
    fetched: list[str] = []

    def topic(name: str, max_wait: float | None) -> TopicSpec[int]:
        async def fetch(client: Any, etag: str | None) -> Fetched[int]:
            fetched.append(name)
            return Fetched(None)

        return TopicSpec(name, fetch, max_wait=max_wait)

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True, interval=2.0, clock=lambda: clock[0])
        feed.subscribe(app, topic("list", None), lambda value: None)
        feed.subscribe(app, topic("tail", 0.5), lambda value: None)
        await feed.poll_once()
        assert sorted(fetched) == ["list", "tail"]
        fetched.clear()
        clock[0] = 0.3
        await feed.poll_hurried()
        assert fetched == []  # not yet due
        clock[0] = 0.5
        await feed.poll_hurried()
        assert fetched == ["tail"]  # only the hurried topic


def test_an_export_path_from_the_dialogs_answer(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert export_path("s.cast", "d.cast", tmp_path) == tmp_path / "s.cast"
    assert export_path("out", "d.cast", tmp_path) == tmp_path / "out" / "d.cast"
    assert export_path("new/", "d.cast", tmp_path) == tmp_path / "new" / "d.cast"
    assert export_path(" ../x.cast ", "d.cast", tmp_path / "out") == tmp_path / "x.cast"
    assert export_path("~/x.cast", "d.cast", tmp_path) == Path.home() / "x.cast"


def test_an_export_file_appears_whole_and_replaces_only_when_told(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    target = ExportFile(path, overwrite=False)
    target.open()
    target.write(["a\n"])
    assert not path.exists()  # written beside it until complete
    target.commit()
    assert path.read_text() == "a\n"
    with pytest.raises(FileExistsError):
        ExportFile(path, overwrite=False).open()
    failed = ExportFile(path, overwrite=True)
    failed.open()
    failed.write(["half"])
    failed.discard()
    assert path.read_text() == "a\n"
    replacing = ExportFile(path, overwrite=True)
    replacing.open()
    replacing.write(["b\n"])
    replacing.commit()
    assert path.read_text() == "b\n"
    assert [p.name for p in tmp_path.iterdir()] == ["s.jsonl"]


def test_an_export_file_is_private_to_its_user(tmp_path: Path) -> None:
    """A session's events may hold what was typed and shown (tokens, paths): the export is
    readable by its owner only, whatever the umask."""
    target = ExportFile(tmp_path / "s.jsonl", overwrite=False)
    target.open()
    target.write(["a\n"])
    target.commit()
    assert (tmp_path / "s.jsonl").stat().st_mode & 0o777 == 0o600


def test_an_export_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    """In a folder others can write (``/tmp``), a link planted where the file is written
    first must not send the session's events into the link's target."""
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    for name in (".s.jsonl.part", ".s.jsonl.tmp"):
        (tmp_path / name).symlink_to(victim)
    target = ExportFile(tmp_path / "s.jsonl", overwrite=False)
    target.open()
    target.write(["a\n"])
    target.commit()
    assert victim.read_text() == "keep me\n"
    assert (tmp_path / "s.jsonl").read_text() == "a\n"
    assert not (tmp_path / "s.jsonl").is_symlink()


def test_an_export_does_not_replace_a_dangling_link_unasked(tmp_path: Path) -> None:
    (tmp_path / "s.jsonl").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        ExportFile(tmp_path / "s.jsonl", overwrite=False).open()


@pytest.mark.parametrize(
    ("session_id", "name"),
    [
        ("ses_01HX-a.b", "ses_01HX-a.b.cast"),
        ("../../.bashrc", "__.._.bashrc.cast"),
        ("a/b", "a_b.cast"),
        (".hidden", "_hidden.cast"),
        ("x\n\x1b]52;c;aGk=\x07", "x___52_c_aGk__.cast"),
    ],
)
def test_an_export_named_after_a_session_stays_in_the_chosen_folder(
    session_id: str, name: str
) -> None:
    """A session's id is not the user's choice: the default file name keeps it to one plain
    name in the folder the user picks (no ``/``, no leading dot, no control characters)."""
    assert default_export_name(session_id, ".cast") == name
