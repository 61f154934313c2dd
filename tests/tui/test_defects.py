"""Issue 12's defects, each reproduced first (these failed before the fix)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from test_app import SIZE, loaded
from textual.widgets import ContentSwitcher, TabbedContent

from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.screens.terminals import TerminalsScreen
from caged_tui.widgets.command_line import CommandLine
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.sandbox_table import SandboxTable
from caged_tui.widgets.terminal import TerminalView


class IdleSession:
    """A terminal session that stays open, says nothing and keeps what it is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, data: str) -> None:
        self.sent.append(data)

    async def resize(self, rows: int, cols: int) -> None:
        return None

    async def ack(self, nbytes: int) -> None:
        return None

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        yield b"$ "
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None


async def test_colon_prompt_shows_what_is_typed(fake: FakePlatform) -> None:
    """Defect 2: the ``:`` prompt showed only its border (height 1, tall focus border);
    then the key bar, docked at the bottom too, was drawn over it."""
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("colon", *"ter")
        prompt = app.screen.query_one(CommandLine)
        await eventually_async(lambda: prompt.has_focus, pause=pilot.pause)
        assert prompt.content_region.height == 1
        assert "ter" in prompt.render_line(0).text
        shown, _ = app.screen.get_widget_at(prompt.content_region.x, prompt.content_region.y)
        assert shown is prompt


async def test_list_keys_j_k_g_G(fake: FakePlatform) -> None:
    """Defect 5: lists had no j/k, g/G, home/end."""
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.query_one(SandboxTable)
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("end", "home")
        assert table.cursor_row == 0


async def test_quitting_with_open_terminals_asks(fake: FakePlatform) -> None:
    """Defect 3: ``q``/ctrl+c quit the whole app with terminals open, without asking.
    Issue 17: ctrl+q and ctrl+p in a terminal are the shell's; ctrl+] q quits."""
    app = fake_app(fake.handle)
    session = IdleSession()

    async def terminal(sandbox_id: str, **_: Any) -> IdleSession:
        return session

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.client.sandboxes.terminal = terminal  # type: ignore[method-assign]
        await pilot.press("t")
        await eventually_async(lambda: isinstance(app.screen, TerminalsScreen), pause=pilot.pause)
        await eventually_async(lambda: app.open_terminal_count() == 1, pause=pilot.pause)
        view = app.screen.query_one(TerminalView)
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        await pilot.press("ctrl+q", "ctrl+p")
        await eventually_async(lambda: session.sent == ["\x11", "\x10"], pause=pilot.pause)
        assert isinstance(app.screen, TerminalsScreen)
        await pilot.press("ctrl+right_square_bracket", "q")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("n")
        await eventually_async(lambda: isinstance(app.screen, TerminalsScreen), pause=pilot.pause)
        assert app.is_running
        await pilot.press("ctrl+right_square_bracket", "1")  # leave the shell, go home
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        await pilot.press("q")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("y")
        await eventually_async(lambda: not app.is_running, pause=pilot.pause)


async def test_quitting_without_terminals_does_not_ask(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await eventually_async(lambda: not app.is_running, pause=pilot.pause)


async def test_closing_a_live_terminal_does_not_crash(fake: FakePlatform) -> None:
    """Defect 1: closing a live tab crashed with NoMatches in ``_disconnected``: the
    socket's Disconnected arrived while the tab's children were being removed."""
    app = fake_app(fake.handle)

    async def terminal(sandbox_id: str, **_: Any) -> IdleSession:
        return IdleSession()

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.client.sandboxes.terminal = terminal  # type: ignore[method-assign]
        await pilot.press("t")
        await eventually_async(lambda: app.open_terminal_count() == 1, pause=pilot.pause)
        screen = app.screen
        assert isinstance(screen, TerminalsScreen)
        view = screen.query_one(TerminalView)
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        await pilot.press("ctrl+right_square_bracket", "w")
        view.post_message(TerminalView.Disconnected(view))
        screen.post_message(TerminalView.Disconnected(view))
        await eventually_async(lambda: app.open_terminal_count() == 0, pause=pilot.pause)
        await pilot.pause()
        assert app.is_running and app.return_code is None


async def test_closing_one_of_two_terminals_does_not_crash(fake: FakePlatform) -> None:
    """Seen in tmux on 300 sandboxes: with two tabs open, ctrl+] w on the second crashed
    with NoMatches — the key bar asked whether ``p`` (resume) applies while the closed
    tab was still the active one but no longer a pane."""
    app = fake_app(fake.handle)

    async def terminal(sandbox_id: str, **_: Any) -> IdleSession:
        return IdleSession()

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.client.sandboxes.terminal = terminal  # type: ignore[method-assign]
        await pilot.press("t")
        await eventually_async(lambda: app.open_terminal_count() == 1, pause=pilot.pause)
        await pilot.press("ctrl+right_square_bracket", "n")
        await eventually_async(lambda: app.open_terminal_count() == 2, pause=pilot.pause)
        screen = app.screen
        assert isinstance(screen, TerminalsScreen)
        # What remove_pane does first (its tab goes concurrently): between the two the
        # closed tab is still the active one, and the key bar asks about p then.
        tabs = screen.query_one(TabbedContent)
        await tabs.get_child_by_type(ContentSwitcher).get_child_by_id(tabs.active).remove()
        assert screen.check_action("resume", ()) is False
        await pilot.press("ctrl+right_square_bracket", "w")
        await eventually_async(lambda: app.open_terminal_count() == 1, pause=pilot.pause)
        await pilot.pause()
        assert app.is_running and app.return_code is None
