"""TerminalView driven by Pilot against a real shell on a local PTY (no mocks)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable

import pytest
from local_pty import READ_SIZE, LocalPtyTransport
from terminal_app import TerminalTestApp
from textual import events
from textual.pilot import Pilot

from caged_tui.widgets.terminal import TerminalView
from caged_tui.widgets.terminal.widget import HIGH_WATER

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

SIZE = (80, 24)


def visible(view: TerminalView) -> list[str]:
    """What the widget shows, row by row."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


async def wait_for(pilot: Pilot[None], predicate: Callable[[], bool], within: float = 10) -> int:
    """Pause until ``predicate()`` holds; returns the number of pauses it took."""
    deadline = time.monotonic() + within
    pauses = 0
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {pauses} pauses")
        await pilot.pause(0.02)
        pauses += 1
    return pauses


async def type_line(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text, "enter")


def prompt_ready(view: TerminalView) -> Callable[[], bool]:
    """The cursor sits after a fresh ``$ `` prompt."""

    def check() -> bool:
        screen = view.terminal
        return screen.display[screen.cursor.y].rstrip() == "$" and screen.cursor.x == 2

    return check


@pytest.fixture
def app() -> TerminalTestApp:
    return TerminalTestApp(LocalPtyTransport.spawn)


async def test_typing_echo_shows_output(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "echo hi")
        await wait_for(pilot, lambda: "hi" in visible(view))
        assert visible(view)[:2] == ["$ echo hi", "hi"]


async def test_sgr_colour_reaches_the_rendered_strip(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, r"printf '\e[31mred\e[0m\n'")
        await wait_for(pilot, lambda: "red" in visible(view))
        row = visible(view).index("red")
        (segment, *_) = list(view.render_line(row))
        assert segment.text == "red"
        assert segment.style is not None and segment.style.color is not None
        assert segment.style.color.number == 1  # ANSI red, mapped by the theme at paint time


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
async def test_vim_uses_the_alternate_screen(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "echo before-vim")
        await wait_for(pilot, lambda: "before-vim" in visible(view))
        await type_line(pilot, "vim -u NONE -i NONE -N")
        await wait_for(pilot, lambda: view.terminal.in_alternate and "~" in visible(view))
        assert "before-vim" not in visible(view)
        await pilot.press(":", "q", "enter")
        await wait_for(pilot, lambda: not view.terminal.in_alternate)
        await wait_for(pilot, prompt_ready(view))
        rows = visible(view)
        assert rows[:3] == ["$ echo before-vim", "before-vim", "$ vim -u NONE -i NONE -N"]


async def test_resizing_the_app_resizes_the_pty(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        transport = app.transports[0]
        assert isinstance(transport, LocalPtyTransport)
        await pilot.resize_terminal(100, 30)
        await wait_for(pilot, lambda: transport.sizes[-1:] == [(30, 100)])
        await type_line(pilot, "tput cols")
        await wait_for(pilot, lambda: "100" in visible(view))
        assert (view.terminal.lines, view.terminal.columns) == (30, 100)


async def test_ctrl_c_stops_a_flood_quickly_with_bounded_memory(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "yes")
        await wait_for(pilot, lambda: view.parsed_bytes > 512 * 1024, within=30)
        started = time.monotonic()
        await pilot.press("ctrl+c")
        pauses = await wait_for(pilot, prompt_ready(view), within=20)
        elapsed = time.monotonic() - started
        stopped_at = view.parsed_bytes
        await pilot.pause(0.3)
        assert view.parsed_bytes == stopped_at, "output kept coming after ctrl+c"
        assert any("^C" in row for row in visible(view))
        # Bounded: at most what the buffer holds (256 KiB) plus the PTY's queue is drained.
        assert pauses < 250 and elapsed < 5, f"{pauses} pauses, {elapsed:.2f}s"
        assert view.peak_buffered_bytes <= HIGH_WATER + READ_SIZE
        # ctrl+c went to the shell, not to the app (which would have shown a toast).
        assert not app._notifications


async def test_scrollback_keeps_ten_thousand_lines(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "seq 1 20000")
        await wait_for(pilot, lambda: "20000" in visible(view), within=60)
        await wait_for(pilot, prompt_ready(view))
        assert len(view.terminal.history) >= 10_000
        top_before = int(visible(view)[0])
        await pilot.press("shift+pageup")
        page = view.size.height - 1
        assert view.history_offset == page
        assert visible(view)[0].split() == [str(top_before - page), f"{page}/10000"]
        assert int(visible(view)[1]) == top_before - page + 1
        for _ in range(5):
            await pilot.press("shift+pageup")
        assert int(visible(view)[1]) == top_before - 6 * page + 1
        await pilot.press("shift+pagedown")
        assert int(visible(view)[1]) == top_before - 5 * page + 1
        # Any typing snaps back to the live screen.
        await pilot.press("x")
        assert view.history_offset == 0
        assert visible(view)[0] == str(top_before)


async def test_mouse_wheel_scrolls_the_history(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "seq 1 100")
        await wait_for(pilot, prompt_ready(view))
        view.post_message(events.MouseScrollUp(view, 5, 5, 0, -1, 0, False, False, False))
        await pilot.pause()
        assert view.history_offset == 3
        assert visible(view)[0].split() == ["75", "3/78"]
        view.post_message(events.MouseScrollDown(view, 5, 5, 0, 1, 0, False, False, False))
        await pilot.pause()
        assert view.history_offset == 0


async def test_tab_goes_to_the_shell(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await pilot.press(*"ech", "tab")
        await wait_for(pilot, lambda: visible(view)[0] == "$ echo")
        assert app.focused is view


async def test_ctrl_bracket_releases_focus_without_sending(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await pilot.press("ctrl+right_square_bracket")
        await pilot.pause(0.2)
        assert app.focused is None
        assert any(isinstance(m, TerminalView.FocusReleased) for m in app.messages)
        assert "^]" not in "".join(visible(view))


async def test_bracketed_paste(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, r"printf '\e[?2004h'; cat -v")
        await wait_for(pilot, lambda: view.terminal.bracketed_paste)
        view.post_message(events.Paste("pasted"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: "^[[200~pasted^[[201~" in visible(view))
        await pilot.press("ctrl+c")


async def test_mouse_reports_only_when_tracking(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "cat -v")
        await pilot.click(view, offset=(5, 10))
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not any("<0;" in row for row in visible(view))
        await pilot.press("ctrl+c")
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, r"printf '\e[?1000h\e[?1006h'; cat -v")
        await wait_for(pilot, lambda: view.terminal.mouse_tracking == 1000)
        await pilot.click(view, offset=(5, 10))
        await pilot.press("enter")
        pattern = re.compile(r"\^\[\[<0;6;11M\^\[\[<0;6;11m")
        await wait_for(pilot, lambda: any(pattern.search(row) for row in visible(view)))
        await pilot.press("ctrl+c")


async def test_disconnect_and_reconnect(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "exit")
        await wait_for(pilot, lambda: not view.connected)
        await pilot.pause(0.05)
        assert any(isinstance(m, TerminalView.Disconnected) for m in app.messages)
        assert view.has_class("-disconnected")
        assert "disconnected — press r to reconnect" in visible(view)[-1]
        await pilot.press("r")
        await wait_for(pilot, lambda: view.connected)
        assert any(isinstance(m, TerminalView.ReconnectRequested) for m in app.messages)
        assert not view.has_class("-disconnected")
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, "echo again")
        await wait_for(pilot, lambda: "again" in visible(view))
        assert len(app.transports) == 2


async def test_title_changes_are_posted(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        await type_line(pilot, r"printf '\e]2;hello title\a'")
        await wait_for(
            pilot,
            lambda: any(
                isinstance(m, TerminalView.TitleChanged) and m.title == "hello title"
                for m in app.messages
            ),
        )


async def test_cursor_position_query_is_answered(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await wait_for(pilot, prompt_ready(view))
        # The reply to ESC[6n travels back up the PTY; `cat -v` shows it.
        await type_line(pilot, r"printf '\e[6n'; cat -v")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("^[[2;1R" in row for row in visible(view)))
        await pilot.press("ctrl+c")
