"""TerminalView driven by Pilot against a real shell on a local PTY (no mocks)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable

import pytest
from eventually import eventually_async
from local_pty import READ_SIZE, LocalPtyTransport
from terminal_app import TerminalTestApp
from textual import events
from textual.command import CommandPalette
from textual.pilot import Pilot

from caged_tui.widgets.terminal import TerminalView
from caged_tui.widgets.terminal.render import DARK_PALETTE
from caged_tui.widgets.terminal.widget import HIGH_WATER

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

SIZE = (80, 24)


def visible(view: TerminalView) -> list[str]:
    """What the widget shows, row by row."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


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
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "echo hi")
        await eventually_async(lambda: "hi" in visible(view), pause=pilot.pause)
        assert visible(view)[:2] == ["$ echo hi", "hi"]


async def test_sgr_colour_reaches_the_rendered_strip(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, r"printf '\e[31mred\e[0m\n'")
        await eventually_async(lambda: "red" in visible(view), pause=pilot.pause)
        row = visible(view).index("red")
        (segment, *_) = list(view.render_line(row))
        assert segment.text == "red"
        assert segment.style is not None and segment.style.color is not None
        assert segment.style.color == DARK_PALETTE[1]  # the terminal palette, not the theme


@pytest.mark.skipif(shutil.which("vim") is None, reason="needs vim")
async def test_vim_uses_the_alternate_screen(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "echo before-vim")
        await eventually_async(lambda: "before-vim" in visible(view), pause=pilot.pause)
        await type_line(pilot, "vim -u NONE -i NONE -N")
        await eventually_async(
            lambda: view.terminal.in_alternate and "~" in visible(view), pause=pilot.pause
        )
        assert "before-vim" not in visible(view)
        await pilot.press(":", "q", "enter")
        await eventually_async(lambda: not view.terminal.in_alternate, pause=pilot.pause)
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        rows = visible(view)
        assert rows[:3] == ["$ echo before-vim", "before-vim", "$ vim -u NONE -i NONE -N"]


async def test_resizing_the_app_resizes_the_pty(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        transport = app.transports[0]
        assert isinstance(transport, LocalPtyTransport)
        await pilot.resize_terminal(100, 30)
        await eventually_async(lambda: transport.sizes[-1:] == [(30, 100)], pause=pilot.pause)
        await type_line(pilot, "tput cols")
        await eventually_async(lambda: "100" in visible(view), pause=pilot.pause)
        assert (view.terminal.lines, view.terminal.columns) == (30, 100)


async def test_narrowing_and_widening_reflows_instead_of_cutting(app: TerminalTestApp) -> None:
    """Issue 17, item 5: 150 A's, narrow to 80 columns, widen to 120: all 150 are back."""
    async with app.run_test(size=(120, 24)) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "printf 'A%.0s' $(seq 1 150); echo")
        await eventually_async(lambda: "A" * 150 in "".join(visible(view)), pause=pilot.pause)
        for columns in (80, 120):
            await pilot.resize_terminal(columns, 24)
            await eventually_async(lambda c=columns: view.terminal.columns == c, pause=pilot.pause)
            assert "".join(visible(view)[1:]).count("A") == 150
        assert "A" * 120 in visible(view)


async def test_ctrl_c_stops_a_flood_with_bounded_memory(app: TerminalTestApp) -> None:
    """How fast the prompt comes back is measured by benchmarks/terminal_flood_interrupt.py;
    here: it comes back, the flood stops, and the widget never buffers past its high-water mark."""
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "yes")
        await eventually_async(lambda: view.parsed_bytes > 512 * 1024, pause=pilot.pause)
        await pilot.press("ctrl+c")
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        # Instead of watching for a while that nothing more comes: a marker command's
        # output is the last thing on the screen, with nothing of a flood around it.
        await type_line(pilot, "echo after-flood")
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        rows = visible(view)
        assert any("^C" in row for row in rows)
        last = max(y for y, row in enumerate(rows) if row)
        assert rows[last - 2 : last + 1] == ["$ echo after-flood", "after-flood", "$"], (
            "output kept coming after ctrl+c"
        )
        assert view.peak_buffered_bytes <= HIGH_WATER + READ_SIZE
        # ctrl+c went to the shell, not to the app (which would have shown a toast).
        assert not app._notifications


async def test_scrollback_keeps_ten_thousand_lines(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "seq 1 20000")
        await eventually_async(lambda: "20000" in visible(view), pause=pilot.pause)
        await eventually_async(prompt_ready(view), pause=pilot.pause)
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
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "seq 1 100")
        await eventually_async(prompt_ready(view), pause=pilot.pause)
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
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await pilot.press(*"ech", "tab")
        await eventually_async(lambda: visible(view)[0] == "$ echo", pause=pilot.pause)
        assert app.focused is view


async def test_ctrl_bracket_then_bracket_releases_focus_without_sending(
    app: TerminalTestApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await pilot.press("ctrl+right_square_bracket")
        assert view.prefix_pending and app.focused is view
        await pilot.press("right_square_bracket")
        await eventually_async(lambda: app.focused is None, pause=pilot.pause)
        assert any(isinstance(m, TerminalView.FocusReleased) for m in app.messages)
        assert "^]" not in "".join(visible(view))
        assert not view.prefix_pending


async def spawn_cat_v() -> LocalPtyTransport:
    """A program that shows every byte it gets: ``cat -vT`` on a raw terminal."""
    return await LocalPtyTransport.spawn(
        ("sh", "-c", "stty raw -echo; printf 'ready>'; exec cat -vT")
    )


async def cat_v_shows(pilot: Pilot[None], view: TerminalView, text: str) -> None:
    await eventually_async(lambda: visible(view)[0] == "ready>" + text, pause=pilot.pause)


async def test_every_key_reaches_the_program() -> None:
    """Issue 17: ctrl+p (palette) and ctrl+q (quit) stayed with the app; Alt+punctuation,
    Alt+digit and M-Enter lost the Alt; ctrl+h sent DEL."""
    app = TerminalTestApp(spawn_cat_v)
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await cat_v_shows(pilot, view, "")
        await pilot.press("ctrl+p", "ctrl+q", "ctrl+c", "ctrl+h", "tab", "escape")
        await cat_v_shows(pilot, view, "^P^Q^C^H^I^[")
        assert app.is_running and app.screen is app.screen_stack[0]
        alt = ["full_stop", "comma", "less_than_sign", "greater_than_sign", "underscore"]
        await pilot.press(*(f"alt+{key}" for key in alt), "alt+slash", "alt+enter", "alt+1")
        await pilot.press("alt+b", "alt+f", "alt+backspace", "f1", "f12", "up")
        await cat_v_shows(
            pilot, view, "^P^Q^C^H^I^[" + "^[.^[,^[<^[>^[_^[/^[^M^[1^[b^[f^[^?^[OP^[[24~^[[A"
        )


async def test_the_prefix_key_reaches_the_app() -> None:
    """ctrl+] then p: the palette; ctrl+] twice: a literal ^]; ctrl+] escape: nothing."""
    app = TerminalTestApp(spawn_cat_v)
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await cat_v_shows(pilot, view, "")
        await pilot.press("ctrl+right_square_bracket", "escape", "x")
        await cat_v_shows(pilot, view, "x")
        await pilot.press("ctrl+right_square_bracket", "ctrl+right_square_bracket", "y")
        await cat_v_shows(pilot, view, "x^]y")
        assert not view.prefix_pending
        await pilot.press("ctrl+right_square_bracket", "p")
        await eventually_async(lambda: isinstance(app.screen, CommandPalette), pause=pilot.pause)
        await pilot.press("escape")
        await eventually_async(lambda: app.focused is view, pause=pilot.pause)
        await pilot.press("z")
        await cat_v_shows(pilot, view, "x^]yz")


async def test_bracketed_paste(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, r"printf '\e[?2004h'; cat -v")
        await eventually_async(lambda: view.terminal.bracketed_paste, pause=pilot.pause)
        view.post_message(events.Paste("pasted"))
        await pilot.press("enter")
        await eventually_async(lambda: "^[[200~pasted^[[201~" in visible(view), pause=pilot.pause)
        await pilot.press("ctrl+c")


async def test_mouse_reports_only_when_tracking(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "cat -v")
        await pilot.click(view, offset=(5, 10))
        # Input keeps its order: once cat has shown the line typed after the click
        # (echoed, then printed), anything the click sent would be on the screen.
        await type_line(pilot, "typed-after")
        await eventually_async(
            lambda: sum("typed-after" in row for row in visible(view)) == 2, pause=pilot.pause
        )
        assert not any("<0;" in row for row in visible(view))
        await pilot.press("ctrl+c")
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, r"printf '\e[?1000h\e[?1006h'; cat -v")
        await eventually_async(lambda: view.terminal.mouse_tracking == 1000, pause=pilot.pause)
        await pilot.click(view, offset=(5, 10))
        await pilot.press("enter")
        pattern = re.compile(r"\^\[\[<0;6;11M\^\[\[<0;6;11m")
        await eventually_async(
            lambda: any(pattern.search(row) for row in visible(view)), pause=pilot.pause
        )
        await pilot.press("ctrl+c")


async def test_disconnect_and_reconnect(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "exit")
        await eventually_async(lambda: not view.connected, pause=pilot.pause)

        def disconnected_shown() -> bool:
            assert any(isinstance(m, TerminalView.Disconnected) for m in app.messages)
            assert view.has_class("-disconnected")
            assert "disconnected — press r to reconnect" in visible(view)[-1]
            return True

        await eventually_async(disconnected_shown, pause=pilot.pause)
        await pilot.press("r")
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        assert any(isinstance(m, TerminalView.ReconnectRequested) for m in app.messages)
        assert not view.has_class("-disconnected")
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, "echo again")
        await eventually_async(lambda: "again" in visible(view), pause=pilot.pause)
        assert len(app.transports) == 2


async def test_title_changes_are_posted(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        await type_line(pilot, r"printf '\e]2;hello title\a'")
        await eventually_async(
            lambda: any(
                isinstance(m, TerminalView.TitleChanged) and m.title == "hello title"
                for m in app.messages
            ),
            pause=pilot.pause,
        )


async def test_cursor_position_query_is_answered(app: TerminalTestApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await eventually_async(prompt_ready(view), pause=pilot.pause)
        # The reply to ESC[6n travels back up the PTY; `cat -v` shows it.
        await type_line(pilot, r"printf '\e[6n'; cat -v")
        await pilot.press("enter")
        await eventually_async(
            lambda: any("^[[2;1R" in row for row in visible(view)), pause=pilot.pause
        )
        await pilot.press("ctrl+c")


async def test_the_prefix_holds_for_keys_typed_fast() -> None:
    """Keys arriving together (fast typing, tmux send-keys): the key after ctrl+] is still
    the app's, seen in tmux as ctrl+] q typing q into the shell."""
    app = TerminalTestApp(spawn_cat_v)
    async with app.run_test(size=SIZE) as pilot:
        view = app.view
        await cat_v_shows(pilot, view, "")
        for key, character in (("ctrl+right_square_bracket", None), ("y", "y"), ("z", "z")):
            app.post_message(events.Key(key, character))
        await cat_v_shows(pilot, view, "z")
        for key in ("ctrl+right_square_bracket", "ctrl+q"):
            app.post_message(events.Key(key, None))
        await eventually_async(lambda: app.return_code is not None, pause=pilot.pause)


async def test_a_ctrl_click_on_a_link_opens_it_and_a_plain_click_shows_where_it_goes() -> None:
    """OSC 8 hyperlinks are clickable (issue 17, item 5) with ctrl, as in host terminals: the
    sandbox chose the text over the link, and a plain click may only mean to focus the view."""
    app = TerminalTestApp()
    opened: list[str] = []
    async with app.run_test(size=(40, 5)) as pilot:
        app.open_url = lambda url, **_: opened.append(url)  # type: ignore[method-assign]
        app.view.feed(b"see \x1b]8;;https://example.com/doc\x1b\\the docs\x1b]8;;\x1b\\ here")
        await pilot.pause()
        await pilot.click(TerminalView, offset=(1, 0))
        await pilot.click(TerminalView, offset=(6, 0))
        await eventually_async(
            lambda: any("https://example.com/doc" in str(n.message) for n in app._notifications),
            pause=pilot.pause,
        )
        assert opened == []
        await pilot.click(TerminalView, offset=(6, 0), control=True)
        await eventually_async(lambda: opened == ["https://example.com/doc"], pause=pilot.pause)
