"""Session replay against the real local platform: the sessions list, the timeline,
playback, the running totals, live follow and export (issue 15)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventually import eventually_async
from test_detail_opens_at_once import shown
from test_live import SIZE, _terminal, live_app, running_sandbox, type_text
from textual.pilot import Pilot
from textual.widgets import Input, Static

from caged_core.client import AsyncCaged
from caged_tui.app import CagedApp
from caged_tui.commands import CagedCommands
from caged_tui.replay import events as ev
from caged_tui.screens.help import key_rows
from caged_tui.screens.replay import ReplayScreen
from caged_tui.screens.sessions import SessionsScreen
from caged_tui.widgets.dialogs import ConfirmDialog, FormDialog
from caged_tui.widgets.session_table import SessionTable
from caged_tui.widgets.text_line import TextLine

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)


def agent_events(session_id: str, count: int = 40) -> list[dict[str, Any]]:
    """A small agent session: LLM calls, commands, a file change, a tool call."""
    events: list[dict[str, Any]] = []
    for i in range(count):
        when = (START + timedelta(seconds=i * 3)).isoformat()
        kind = i % 4
        if kind == 0:
            payload = {
                "model": "claude-4",
                "tokens_in": 100 + i,
                "tokens_out": 20,
                "cost_usd": 0.01,
            }
            events.append({"type": "llm_call", "payload": payload})
        elif kind == 1:
            events.append(
                {"type": "command", "payload": {"command": f"echo step {i}", "exit_code": 0}}
            )
        elif kind == 2:
            events.append(
                {"type": "file_op", "payload": {"path": f"src/f{i}.py", "kind": "modify"}}
            )
        else:
            events.append({"type": "tool_call", "payload": {"tool": "read_file", "args": {"n": i}}})
        events[-1].update(timestamp=when, session_id=session_id, meta={"agent_type": "test-agent"})
    return events


async def ingest(platform: Any, events: list[dict[str, Any]]) -> None:
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as client:
        result = await client.events.ingest(events)
    assert result.accepted == len(events), result


@pytest.fixture(scope="module")
def sandbox(platform: Any) -> Iterator[str]:
    """One running sandbox for this module's tests."""
    yield from running_sandbox(platform)


def new_session_id() -> str:
    return f"sess-{secrets.token_hex(6)}"


async def open_replay(pilot: Pilot[Any], session_id: str) -> ReplayScreen:
    app = pilot.app
    assert isinstance(app, CagedApp)
    await app.push_screen(ReplayScreen(session_id))
    screen = app.screen
    assert isinstance(screen, ReplayScreen)
    await eventually_async(lambda: screen.session is not None, pause=pilot.pause)
    return screen


async def test_the_sessions_screen_lists_an_ingested_session_and_enter_replays_it(
    platform: Any,
) -> None:
    sid = new_session_id()
    await ingest(platform, agent_events(sid, 8))
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await eventually_async(lambda: isinstance(app.screen, SessionsScreen), pause=pilot.pause)
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        table = screen.query_one(SessionTable)
        await eventually_async(lambda: table.source.index_of(sid) is not None, pause=pilot.pause)
        row = table.row(sid)
        assert row is not None
        cells = [text for text, _ in row.cells]
        assert "test-agent" in cells and "claude-4" in cells and "8" in cells
        table.move_to(sid)
        await pilot.press("enter")
        await eventually_async(lambda: isinstance(app.screen, ReplayScreen), pause=pilot.pause)


async def test_events_in_order_and_playing_at_8x_reaches_the_session_cost(platform: Any) -> None:
    sid = new_session_id()
    await ingest(platform, agent_events(sid, 40))
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_replay(pilot, sid)
        rows = screen.timeline.rows(0, 40)
        await eventually_async(lambda: screen.table.row("40") is not None, pause=pilot.pause)
        rows = screen.timeline.rows(0, 40)
        assert [row.key for row in rows] == [str(n) for n in range(1, 41)]
        assert "echo step 1" in rows[1].cells[2][0]
        for key in ("greater_than_sign",) * 3:  # 1x -> 8x
            await pilot.press(key)
        assert screen.speed == 8.0
        await pilot.press("space")
        assert screen.playing
        assert screen.collector.held  # no whole-heap collection stalls a frame while playing
        detail = screen.query_one("#replay-detail", Static)
        # Faster than 1x an event's detail waits for a pause (each update is a layout).
        assert "shows when paused" in shown(detail)
        await eventually_async(
            lambda: not screen.playing and screen.playhead == 40, timeout=60, pause=pilot.pause
        )
        assert not screen.collector.held
        assert "read_file" in shown(detail)  # event 40: the tool call
        assert screen.session is not None
        assert screen.totals.at(screen.playhead).cost == pytest.approx(screen.session.llm_cost)
        assert screen.session.llm_cost == pytest.approx(0.10)


async def test_following_shows_an_event_ingested_after_the_screen_opened(platform: Any) -> None:
    sid = new_session_id()
    await ingest(platform, agent_events(sid, 5))
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_replay(pilot, sid)
        await pilot.press("f")
        assert screen.following
        late = agent_events(sid, 6)[5]
        late["payload"] = {"command": "echo arrived-late", "exit_code": 0}
        late["type"] = "command"
        await ingest(platform, [late])
        await eventually_async(lambda: screen.timeline.total == 6, pause=pilot.pause)
        # At the tail: the cursor and the playhead on the new event.
        await eventually_async(
            lambda: screen.playhead == 6 and screen.table.cursor_key == "6", pause=pilot.pause
        )
        row = screen.table.row("6")
        assert row is not None and "arrived-late" in row.cells[2][0]
        await pilot.press("up")  # leaving the tail stops following
        await eventually_async(lambda: not screen.following, pause=pilot.pause)


async def test_a_followed_session_gets_its_terminal_pane_when_output_starts(
    platform: Any,
) -> None:
    sid = new_session_id()
    await ingest(platform, agent_events(sid, 4))
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_replay(pilot, sid)
        await eventually_async(lambda: screen.tape is not None, pause=pilot.pause)
        assert not screen.terminal_pane.has_class("-shown")
        await pilot.press("f")
        when = (START + timedelta(seconds=30)).isoformat()
        output = {"kind": "terminal_output", "data": "$ echo late-output\r\n", "offset": 0}
        await ingest(platform, [{"type": "other", "timestamp": when, "session_id": sid,
                                 "payload": output}])  # fmt: skip
        await eventually_async(
            lambda: (
                screen.terminal_pane.has_class("-shown")
                and "late-output" in "\n".join(screen.terminal.terminal.display)
            ),
            pause=pilot.pause,
        )


def terminal_session(session_id: str) -> list[dict[str, Any]]:
    """An agent session with three chunks of terminal output after its events."""
    events = agent_events(session_id, 6)
    for n, text in enumerate(["$ ls\r\n", "\x1b[34msrc\x1b[0m  README.md\r\n", "$ "], start=1):
        when = (START + timedelta(seconds=20 + n)).isoformat()
        payload = {"kind": "terminal_output", "data": text, "offset": 0}
        events.append({"type": "other", "timestamp": when, "session_id": session_id,
                       "payload": payload})  # fmt: skip
    return events


@pytest.fixture
async def terminal_sid(platform: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A session with terminal output ingested; the working directory is ``tmp_path``."""
    sid = new_session_id()
    await ingest(platform, terminal_session(sid))
    monkeypatch.chdir(tmp_path)
    return sid


async def export_dialog(pilot: Pilot[Any], key: str) -> Input:
    """Press ``key`` (``e`` / ``c``) and return the export dialog's path field."""
    await pilot.press(key)
    await eventually_async(lambda: isinstance(pilot.app.screen, FormDialog), pause=pilot.pause)
    return pilot.app.screen.query_one("#field-path", Input)


def files_in(folder: Path) -> list[str]:
    """The names of everything under ``folder``, sorted (hidden part files included)."""
    return sorted(path.name for path in folder.rglob("*"))


def notified(app: Any, text: str, severity: str = "information") -> bool:
    return any(text in str(n.message) and n.severity == severity for n in app._notifications)


async def test_export_asks_where_and_writes_jsonl_and_a_cast_that_asciinema_reads(
    platform: Any, tmp_path: Path, terminal_sid: str
) -> None:
    from test_replay_pieces import assert_asciicast_v2

    sid = terminal_sid
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(pilot, sid)
        field = await export_dialog(pilot, "c")
        cast, jsonl = tmp_path / f"{sid}.cast", tmp_path / f"{sid}.jsonl"
        assert field.value == str(cast)  # the default: <session>.cast in the working directory
        await pilot.press("enter")
        await eventually_async(
            lambda: notified(app, f"Exported 3 terminal chunks to {cast}"), pause=pilot.pause
        )
        field = await export_dialog(pilot, "e")
        assert field.value == str(jsonl)
        field.value = "exports/"  # a folder (relative to the working directory) gets the name
        (tmp_path / "exports").mkdir()
        await pilot.press("enter")
        jsonl = tmp_path / "exports" / f"{sid}.jsonl"
        await eventually_async(
            lambda: notified(app, f"Exported 9 events to {jsonl}"), pause=pilot.pause
        )
    assert [json.loads(line)["sequence"] for line in jsonl.read_text().splitlines()] == list(
        range(1, 10)
    )
    assert_asciicast_v2(cast)
    assert "README.md" in cast.read_text()
    assert files_in(tmp_path) == sorted([cast.name, "exports", jsonl.name])


async def test_export_replaces_an_existing_file_only_after_a_confirmation(
    platform: Any, tmp_path: Path, terminal_sid: str
) -> None:
    sid = terminal_sid
    cast = tmp_path / f"{sid}.cast"
    cast.write_text("keep me\n")
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(pilot, sid)
        await export_dialog(pilot, "c")
        await pilot.press("enter")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        assert str(cast) in shown(app.screen.query_one(".dialog-body", Static))
        await pilot.press("n")  # no: back to the path, to choose another
        field = await eventually_async(
            lambda: (
                app.screen.query_one("#field-path", Input)
                if isinstance(app.screen, FormDialog)
                else None
            ),
            pause=pilot.pause,
        )
        assert field.value == str(cast)
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, ReplayScreen), pause=pilot.pause)
        assert cast.read_text() == "keep me\n"
        await export_dialog(pilot, "c")
        await pilot.press("enter")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("y")
        await eventually_async(
            lambda: notified(app, f"Exported 3 terminal chunks to {cast}"), pause=pilot.pause
        )
    assert json.loads(cast.read_text().splitlines()[0])["version"] == 2
    assert files_in(tmp_path) == [cast.name]  # no part file left behind


async def test_an_export_that_cannot_be_written_says_why(
    platform: Any, tmp_path: Path, terminal_sid: str
) -> None:
    sid = terminal_sid
    (tmp_path / "a-file").write_text("")
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(pilot, sid)
        field = await export_dialog(pilot, "e")
        field.value = str(tmp_path / "a-file" / "out.jsonl")
        await pilot.press("enter")
        await eventually_async(
            lambda: notified(
                app,
                f"Could not export to {tmp_path / 'a-file' / 'out.jsonl'}: Not a directory",
                "error",
            ),
            pause=pilot.pause,
        )
        assert isinstance(app.screen, ReplayScreen)
        # Where even root may not write (sysfs: read-only mounted in some containers).
        field = await export_dialog(pilot, "e")
        field.value = "/sys/caged-export.jsonl"
        await pilot.press("enter")
        await eventually_async(
            lambda: any(
                notified(app, f"Could not export to /sys/caged-export.jsonl: {reason}", "error")
                for reason in ("Permission denied", "Read-only file system")
            ),
            pause=pilot.pause,
        )
    assert files_in(tmp_path) == ["a-file"]


async def test_an_api_exec_that_writes_a_file_is_replayed_with_its_diff(
    platform: Any, sandbox: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        client = app.client
        result = await client.sandboxes.exec(
            sandbox, "printf 'hello\\nreplay\\n' > /workspace/replayed.txt"
        )
        assert result.exit_code == 0

        async def file_change() -> tuple[str, int] | None:
            # The exec and the file change land in the sandbox's implicit manual session.
            for session in await client.sessions.list_by_sandbox(sandbox):
                if session.agent_type != "manual":
                    continue
                page = await client.sessions.replay(session.id, type="file_op", limit=100)
                for event in page:
                    if event.data.get("path") == "/workspace/replayed.txt":
                        return session.id, event.sequence
            return None

        session_id, sequence = await eventually_async(file_change, pause=pilot.pause)
        screen = await open_replay(pilot, session_id)
        await pilot.press("t", "4")  # files only
        await eventually_async(
            lambda: screen._matching_done and screen.table.row(str(sequence)) is not None,
            pause=pilot.pause,
        )
        screen.table.move_to(str(sequence))
        await eventually_async(lambda: screen.playhead == sequence, pause=pilot.pause)
        row = screen.table.row(str(sequence))
        assert row is not None and row.cells[2][0].startswith("created /workspace/replayed")
        assert ev.summary(screen.timeline.event(sequence)).endswith("replayed.txt  +2 -0")
        event = screen.timeline.event(sequence)
        assert event is not None
        assert "+hello\n+replay\n" in event.data["diff"]
        commands = [e async for e in client.sessions.replay(session_id, type="command")]
        assert any("replayed.txt" in str(e.data.get("command")) for e in commands)
        result = await client.sandboxes.exec(sandbox, "echo said-this")
        said = [e async for e in client.sessions.replay(session_id, type="command")][-1]
        assert said.data["output"] == result.output == "said-this\n"  # the detail shows it


async def test_a_recorded_terminal_plays_back_as_it_was_shown_live(
    platform: Any, sandbox: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        tab = await _terminal(pilot, sandbox)
        await type_text(pilot, "printf '\\033[32mgreen\\033[0m plain\\n'; echo replay-marker\n")
        await eventually_async(
            lambda: any(line.strip() == "replay-marker" for line in tab.view.terminal.display),
            pause=pilot.pause,
        )
        await type_text(pilot, "exit\n")
        await eventually_async(lambda: not tab.view.connected, pause=pilot.pause)
        live = [line.rstrip() for line in tab.view.terminal.display]
        client = app.client

        async def ended_terminal() -> str | None:
            for session in await client.sessions.list_by_sandbox(sandbox):
                if session.status.value != "active" and session.event_count > 3:
                    page = await client.sessions.replay(session.id, limit=1)
                    if page and page[0].data.get("channel") == "terminal":
                        return session.id
            return None

        session_id = await eventually_async(ended_terminal, pause=pilot.pause)
        screen = await open_replay(pilot, session_id)
        await eventually_async(lambda: screen.tape is not None, pause=pilot.pause)
        await pilot.press("end")
        await eventually_async(lambda: screen.playhead == screen.timeline.total, pause=pilot.pause)
        replayed = [line.rstrip() for line in screen.terminal.terminal.display]
        assert replayed == live


async def test_arrows_step_where_the_timeline_scrolls_sideways_and_edit_the_search(
    platform: Any,
) -> None:
    sid = new_session_id()
    await ingest(platform, agent_events(sid, 12))
    app = live_app(platform)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_replay(pilot, sid)
        await eventually_async(lambda: screen.timeline.event(12) is not None, pause=pilot.pause)
        table = screen.table
        assert table.virtual_size.width > table.scrollable_content_region.width
        screen.seek(5)
        await pilot.press("left", "left", "left")
        assert screen.playhead == 2 and table.scroll_x == 0  # stepped, not scrolled
        await pilot.press("slash")
        box = screen.query_one("#replay-search", Input)
        await eventually_async(lambda: box.has_focus, pause=pilot.pause)
        await pilot.press(*"sep 1", "left", "left", "left", "left", "t")
        assert box.value == "step 1" and screen.playhead == 2  # the arrows edited the text
        await pilot.press("enter")
        await eventually_async(lambda: screen._matching_done, pause=pilot.pause)
        assert screen._match_seqs == [2]  # "echo step 1"
        await pilot.press("escape")  # closes the box and drops the search
        assert not screen.filtered and screen.table.source is screen.timeline
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("space")
        assert screen.playing and screen.collector.held
        await pilot.press("escape")  # leaving while playing lets the collector go
        await eventually_async(lambda: not isinstance(app.screen, ReplayScreen), pause=pilot.pause)
        assert not screen.collector.held


def wide_terminal_session(session_id: str, rows: int = 30) -> list[dict[str, Any]]:
    """A terminal recorded at 160x48: each row ends with ``RIGHT-EDGEnn`` at column 146."""
    opened = {"action": "open", "channel": "terminal", "cols": 160, "rows": 48}
    events: list[dict[str, Any]] = [{"type": "lifecycle", "payload": opened}]
    for i in range(rows):
        line = f"row {i:02d} ".ljust(146, ".") + f"RIGHT-EDGE{i:02d}\r\n"
        output = {"kind": "terminal_output", "data": line, "offset": 0}
        events.append({"type": "other", "payload": output})
    for n, event in enumerate(events):
        when = (START + timedelta(seconds=n)).isoformat()
        event.update(timestamp=when, session_id=session_id, meta={"agent_type": "manual"})
    return events


def pane_rows(app: Any, screen: ReplayScreen) -> list[str]:
    """The rows of the terminal pane as the compositor draws them on the screen."""
    region = screen.terminal_pane.region
    strips = app.screen._compositor.render_strips()[region.y : region.bottom]
    return ["".join(s.text for s in strip.crop(region.x, region.right)) for strip in strips]


async def opened_terminal(pilot: Pilot[Any], session_id: str) -> ReplayScreen:
    """The replay of ``session_id`` with its terminal loaded, at its last event."""
    screen = await open_replay(pilot, session_id)
    await eventually_async(lambda: screen.tape is not None, pause=pilot.pause)
    await pilot.press("end")
    await eventually_async(lambda: screen.playhead == screen.timeline.total, pause=pilot.pause)
    return screen


@pytest.fixture
async def wide_sid(platform: Any) -> str:
    """A session with a terminal recorded at 160x48 ingested."""
    sid = new_session_id()
    await ingest(platform, wide_terminal_session(sid))
    return sid


async def test_a_wide_recording_keeps_its_size_and_zoom_shows_its_right_edge(
    platform: Any, wide_sid: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=(170, 56)) as pilot:
        screen = await opened_terminal(pilot, wide_sid)
        terminal, pane = screen.terminal.terminal, screen.terminal_pane
        assert (terminal.columns, terminal.lines) == (160, 48)
        # Wrapped as live: one recorded line is one row.
        assert [row.rstrip()[-12:] for row in terminal.display[:30]] == [
            f"RIGHT-EDGE{i:02d}" for i in range(30)
        ]
        await eventually_async(lambda: pane.cropped, pause=pilot.pause)
        assert pane.border_title == "terminal 160x48 (cropped: z to zoom)"
        assert not any("RIGHT-EDGE" in row for row in pane_rows(app, screen))
        assert screen.active_bindings["z"].binding.description == "Zoom"

        await pilot.press("z")
        await eventually_async(lambda: not pane.cropped, pause=pilot.pause)
        assert not screen.query_one("#replay-left").display  # the timeline and detail hide
        assert not screen.query_one("#replay-detail-scroll").display
        assert pane.border_title == "terminal 160x48"
        rows = pane_rows(app, screen)
        assert any(row.rstrip().endswith("RIGHT-EDGE29") for row in rows), rows
        assert screen.active_bindings["z"].binding.description == "Unzoom"
        assert "zoomed" in str(screen.query_one("#replay-position", TextLine).text)

        await pilot.press("z")
        await eventually_async(lambda: pane.cropped, pause=pilot.pause)
        assert screen.query_one("#replay-left").display and not screen.zoomed
        assert screen.table.has_focus  # hidden, the timeline lost it; back, it has it again


async def test_zoom_and_scrolling_are_in_the_palette_and_the_help(
    platform: Any, wide_sid: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened_terminal(pilot, wide_sid)
        rows = {row.binding_id: (row.keys, row.description) for row in key_rows(screen)}
        assert rows["replay.zoom"] == ("z", "Zoom") and "replay.unzoom" not in rows
        assert rows["replay.pan_right"] == ("shift+→", "Scroll the terminal right")
        commands = {c.title: c for c in CagedCommands(screen).commands()}
        await commands["Replay: Zoom"].run()
        assert screen.zoomed
        rows = {row.binding_id: (row.keys, row.description) for row in key_rows(screen)}
        assert rows["replay.unzoom"] == ("z", "Unzoom") and "replay.zoom" not in rows
        await commands["Replay: Scroll the terminal right"].run()
        await eventually_async(lambda: screen.terminal_pane.scroll_x == 8, pause=pilot.pause)
        await commands["Replay: Unzoom"].run()
        assert not screen.zoomed


async def test_playback_keys_work_while_zoomed_and_a_cropped_zoom_scrolls(
    platform: Any, wide_sid: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await opened_terminal(pilot, wide_sid)
        await pilot.press("z")
        assert screen.zoomed
        total = screen.timeline.total
        await pilot.press("left", "left")
        assert screen.playhead == total - 2
        await pilot.press("right")
        assert screen.playhead == total - 1
        await pilot.press("5")
        assert screen.playhead == total // 2
        await pilot.press("end")
        assert screen.playhead == total
        await pilot.press("0")
        assert screen.playhead == 1
        await pilot.press("end", "home")
        assert screen.playhead == 1
        await pilot.press("space")
        assert screen.playing
        await pilot.press("space")
        assert not screen.playing
        await pilot.press(*["greater_than_sign"] * 6)  # 1x -> 64x
        assert screen.speed == 64
        await pilot.press("less_than_sign")
        assert screen.speed == 32
        await pilot.press("space")
        await eventually_async(lambda: screen.playhead == total, pause=pilot.pause)
        assert not screen.playing and screen.zoomed
        assert screen.terminal.terminal.display[29].rstrip().endswith("RIGHT-EDGE29")

        # 120 columns are still too few for 160: the title says so and shift+→ scrolls.
        pane = screen.terminal_pane
        await eventually_async(lambda: pane.cropped, pause=pilot.pause)
        assert pane.border_title == "terminal 160x48 (cropped: shift+arrows scroll)"
        assert not any("RIGHT-EDGE" in row for row in pane_rows(app, screen))
        await pilot.press(*["shift+right"] * 6)
        await eventually_async(
            lambda: any("RIGHT-EDGE29" in row for row in pane_rows(app, screen)), pause=pilot.pause
        )
        await pilot.press("shift+left")
        assert pane.scroll_x == pane.max_scroll_x - 8


async def test_recorded_resizes_resize_the_replayed_terminal(platform: Any) -> None:
    sid = new_session_id()
    events = wide_terminal_session(sid, rows=2)
    resize = {"kind": "terminal_resize", "cols": 100, "rows": 30}
    later = {"kind": "terminal_output", "data": "after " + "x" * 144 + "\r\n", "offset": 0}
    for n, payload in enumerate((resize, later), start=len(events)):
        when = (START + timedelta(seconds=n)).isoformat()
        events.append({"type": "other", "timestamp": when, "session_id": sid, "payload": payload})
    await ingest(platform, events)
    app = live_app(platform)
    async with app.run_test(size=(170, 56)) as pilot:
        screen = await opened_terminal(pilot, sid)
        terminal = screen.terminal.terminal
        assert (terminal.columns, terminal.lines) == (100, 30)
        assert str(screen.terminal_pane.border_title).startswith("terminal 100x30")
        rows = [row.rstrip() for row in terminal.display]
        start = next(i for i, row in enumerate(rows) if row.startswith("after "))
        # 150 characters wrap at the recorded 100 columns, as they did live.
        assert rows[start] == "after " + "x" * 94 and rows[start + 1] == "x" * 50
        await pilot.press("home")
        await eventually_async(lambda: terminal is not screen.terminal.terminal, pause=pilot.pause)
        shown = screen.terminal.terminal
        assert (shown.columns, shown.lines) == (160, 48)


async def test_leaving_the_replay_while_it_exports_leaves_no_half_file(
    platform: Any, tmp_path: Path, terminal_sid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_replay(pilot, terminal_sid)
        asked = asyncio.Event()
        replay = screen.client.sessions.replay

        async def never() -> Any:
            asked.set()
            await asyncio.Event().wait()  # The platform never answers.

        def hangs(*args: Any, **kwargs: Any) -> Any:
            # Only the export's walk (every type, asked for as such) hangs: the screen's own
            # loads of the timeline, the totals and the terminal may still be under way.
            if "type" in kwargs and kwargs["type"] is None:
                return never()
            return replay(*args, **kwargs)

        monkeypatch.setattr(screen.client.sessions, "replay", hangs)
        await export_dialog(pilot, "e")
        await pilot.press("enter")
        await eventually_async(asked.is_set, pause=pilot.pause)
        assert [name for name in files_in(tmp_path) if name.endswith(".part")]
        app.pop_screen()  # Leaving the replay cancels the export.
        await eventually_async(lambda: files_in(tmp_path) == [], pause=pilot.pause)


async def test_an_export_path_naming_an_unknown_home_says_why(
    platform: Any, tmp_path: Path, terminal_sid: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(pilot, terminal_sid)
        field = await export_dialog(pilot, "e")
        field.value = "~no-such-user-caged/x.jsonl"  # a typo for ~/…
        await pilot.press("enter")
        await eventually_async(
            lambda: notified(
                app,
                "Could not export to ~no-such-user-caged/x.jsonl: Could not determine home",
                "error",
            ),
            pause=pilot.pause,
        )
    assert files_in(tmp_path) == []
