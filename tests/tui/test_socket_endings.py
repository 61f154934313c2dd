"""Issue 12's terminal and exec defects, each reproduced first (these failed before the fix):
keys typed into a disconnected terminal fired app shortcuts; a paused sandbox's terminal and
exec said only "disconnected"; a destroyed sandbox's terminal offered reconnect forever; the
footer's hints lied (``esc`` "Back to sandboxes", ``?`` Help in the shell, no ``r``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from eventually import eventually_async
from fake_platform import FakePlatform, fake_app
from test_app import SIZE, loaded, toasts
from test_defects import IdleSession
from textual.pilot import Pilot
from textual.widgets import RichLog, Static

from caged_tui.app import CagedApp
from caged_tui.screens.detail.exec import ExecPanel
from caged_tui.screens.detail.screen import SandboxDetailScreen
from caged_tui.screens.help import key_rows
from caged_tui.screens.terminals import TerminalsScreen
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.key_bar import KeyBar
from caged_tui.widgets.terminal import TerminalView

SANDBOX = "cage-0a1b2c3d"


class LiveSession(IdleSession):
    """A terminal socket that stays open (and would say how it closed)."""

    close_code: int | None = None
    close_reason: str | None = None


class EndedSession(LiveSession):
    """A terminal socket that says a prompt, then is closed by the platform."""

    def __init__(self, code: int | None = 1000, reason: str | None = "the shell exited") -> None:
        self.close_code = code
        self.close_reason = reason

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        yield b"$ "


async def open_terminal(
    pilot: Pilot[Any], sessions: list[LiveSession]
) -> tuple[TerminalsScreen, list[str]]:
    """Press ``t`` on the first sandbox; each socket opened is the next of ``sessions``."""
    app = pilot.app
    assert isinstance(app, CagedApp)
    opened: list[str] = []

    async def terminal(sandbox_id: str, **_: Any) -> LiveSession:
        opened.append(sandbox_id)
        return sessions.pop(0)

    app.client.sandboxes.terminal = terminal  # type: ignore[method-assign]
    await pilot.press("t")
    await eventually_async(lambda: opened, pause=pilot.pause)
    screen = app.screen
    assert isinstance(screen, TerminalsScreen)
    return screen, opened


def footer(screen: Any) -> str:
    return str(screen.query_one(KeyBar).render())


def banner(view: TerminalView) -> str:
    return view.render_line(view.size.height - 1).text


async def test_keys_in_a_disconnected_terminal_fire_no_shortcuts(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen, opened = await open_terminal(pilot, [EndedSession()])
        view = screen.query_one(TerminalView)
        await eventually_async(lambda: "press r" in banner(view), pause=pilot.pause)
        assert view.has_focus
        await pilot.press("w", "n", "q", "ctrl+c")
        await pilot.pause()
        assert app.is_running
        assert app.screen is screen  # no dialog, no other screen
        assert screen.tab_count == 1 and len(opened) == 1


async def test_footer_hints_tell_the_truth(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("enter")  # detail first: esc from the terminals goes back there
        await eventually_async(
            lambda: isinstance(app.screen, SandboxDetailScreen), pause=pilot.pause
        )
        screen, _ = await open_terminal(pilot, [LiveSession(), EndedSession()])
        view = screen.query_one(TerminalView)
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        hints = footer(screen)
        assert "? Help" not in hints  # ? goes to the shell
        assert "f1 Help" in hints
        await pilot.press("ctrl+right_square_bracket", "right_square_bracket")
        await eventually_async(lambda: "esc Back" in footer(screen), pause=pilot.pause)
        assert "Back to sandboxes" not in footer(screen)
        await pilot.press("escape")
        await eventually_async(
            lambda: isinstance(app.screen, SandboxDetailScreen), pause=pilot.pause
        )
        await pilot.press("colon", *"terminals", "enter")  # digits choose the detail's tabs
        await eventually_async(lambda: app.screen is screen, pause=pilot.pause)
        await pilot.press("n")  # a second tab, whose shell has exited
        await eventually_async(lambda: screen.tab_count == 2, pause=pilot.pause)
        await eventually_async(lambda: "r Reconnect" in footer(screen), pause=pilot.pause)
        assert "Focus terminal" not in footer(screen)  # it has the focus already


async def test_terminal_of_a_paused_sandbox_says_so(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    paused = EndedSession(4409, f"sandbox {SANDBOX} is paused")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen, opened = await open_terminal(pilot, [paused, LiveSession()])
        view = screen.query_one(TerminalView)
        await eventually_async(lambda: "is paused" in banner(view), pause=pilot.pause)
        assert "p resumes" in banner(view)
        await eventually_async(lambda: "p Resume" in footer(screen), pause=pilot.pause)
        await pilot.press("p")
        await eventually_async(lambda: fake.calls("POST", "/resume"), pause=pilot.pause)
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        assert opened == [SANDBOX, SANDBOX]  # resumed, then reconnected


@pytest.mark.parametrize(
    ("code", "reason", "notice"),
    [
        (4404, f"sandbox {SANDBOX} not found", "not found"),
        # Seen in tmux: the platform closes the socket before it stores the new status, so
        # the sandbox still reads "running" (as the fake's does) when asked right away.
        (1001, "sandbox destroyed", "was destroyed"),
    ],
)
async def test_terminal_of_a_destroyed_sandbox_closes(
    fake: FakePlatform, code: int, reason: str, notice: str
) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen, opened = await open_terminal(pilot, [EndedSession(code, reason)])
        await eventually_async(lambda: screen.tab_count == 0, pause=pilot.pause)
        await eventually_async(
            lambda: any(notice in toast for toast in toasts(app)), pause=pilot.pause
        )
        await pilot.press("r")
        await pilot.pause()
        assert opened == [SANDBOX]  # never offered a reconnect


class RefusedExec:
    """What ``exec_stream`` returns when the platform refuses the socket: no output, no code."""

    exit_code = None
    close_code = 4409
    close_reason = f"sandbox {SANDBOX} is paused"

    def __aiter__(self) -> RefusedExec:
        return self

    async def __anext__(self) -> str:
        raise StopAsyncIteration

    async def close(self) -> None:
        return None


async def test_exec_on_a_paused_sandbox_says_so(fake: FakePlatform) -> None:
    next(sb for sb in fake.sandboxes if sb["id"] == SANDBOX)["status"] = "paused"
    app = fake_app(fake.handle)

    async def exec_stream(sandbox_id: str, command: str) -> RefusedExec:
        return RefusedExec()

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        app.client.sandboxes.exec_stream = exec_stream  # type: ignore[method-assign]
        await pilot.press("x")
        prompt = await eventually_async(lambda: app.screen.query("#exec-prompt"), pause=pilot.pause)
        await eventually_async(lambda: prompt.first().has_focus, pause=pilot.pause)
        await pilot.press("l", "s", "enter")
        status = app.screen.query_one("#exec-status", Static)
        await eventually_async(lambda: "is paused" in str(status.render()), pause=pilot.pause)
        assert "p resumes" in str(status.render())
        assert app.screen.query_one(ExecPanel).query_one(RichLog).has_focus
        await pilot.press("p")
        await eventually_async(lambda: fake.calls("POST", "/resume"), pause=pilot.pause)


async def test_space_marking_is_documented(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        rows = {row.keys: row.description for row in key_rows(screen)}
        assert "move" in rows["space"].lower()


async def test_quit_with_a_disconnected_terminal_open_still_asks(fake: FakePlatform) -> None:
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen, _ = await open_terminal(pilot, [EndedSession()])
        view = screen.query_one(TerminalView)
        await eventually_async(lambda: "press r" in banner(view), pause=pilot.pause)
        await pilot.press("ctrl+q")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
