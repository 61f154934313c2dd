"""The real app against the real local platform: real sandboxes, real shells.

Every test drives the app with keys through Pilot, as a user would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from eventually import eventually, eventually_async
from textual.pilot import Pilot
from textual.widgets import RichLog, Static

from caged_core.client import AsyncCaged
from caged_tui.app import CagedApp, make_app
from caged_tui.screens.create import CreateScreen
from caged_tui.screens.detail.exec import ExecPanel
from caged_tui.screens.detail.screen import SandboxDetailScreen
from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.screens.terminals import TerminalsScreen, TerminalTab
from caged_tui.settings import Settings
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.sandbox_table import SandboxTable

pytestmark = pytest.mark.integration

SIZE = (120, 36)


def _wait_running(platform: Any, sandbox_id: str) -> None:
    def running() -> bool:
        url = f"{platform.url}/v1/sandboxes/{sandbox_id}"
        return httpx.get(url, headers=platform.headers, timeout=30).json()["status"] == "running"

    eventually(running, timeout=120, what=f"{sandbox_id} to start")


@pytest.fixture(scope="module")
def sandbox(platform: Any) -> Iterator[str]:
    """One running sandbox for the tests that only use it."""
    yield from running_sandbox(platform)


def running_sandbox(platform: Any) -> Iterator[str]:
    """A new running sandbox, destroyed when the generator closes (for module fixtures)."""
    created = httpx.post(
        f"{platform.url}/v1/sandboxes",
        json={"template": "minimal"},
        headers=platform.headers,
        timeout=360,
    ).json()
    _wait_running(platform, created["id"])
    yield created["id"]
    httpx.delete(
        f"{platform.url}/v1/sandboxes/{created['id']}", headers=platform.headers, timeout=60
    )


def live_app(platform: Any) -> CagedApp:
    client = AsyncCaged(api_key=platform.api_key, base_url=platform.url)
    return make_app(client, Settings(base_url=platform.url, local=True, refresh_seconds=1.0))


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` key by key (``\\n`` is enter)."""
    names = {
        " ": "space",
        "\n": "enter",
        ":": "colon",
        "-": "minus",
        ";": "semicolon",
        "|": "vertical_line",
        "$": "dollar_sign",
        ">": "greater_than_sign",
        "&": "ampersand",
        ".": "full_stop",
        "/": "slash",
        "'": "apostrophe",
    }
    for char in text:
        await pilot.press(names.get(char, char))


def log_text(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


async def select(pilot: Pilot[Any], sandbox_id: str) -> None:
    """Put the sandboxes table's cursor on ``sandbox_id``."""
    app = pilot.app
    await eventually_async(
        lambda: (
            isinstance(app.screen, SandboxesScreen)
            and app.screen.query_one(SandboxTable).source.index_of(sandbox_id) is not None
        ),
        pause=pilot.pause,
    )
    table = app.screen.query_one(SandboxTable)
    table.move_to(sandbox_id)
    await eventually_async(lambda: table.cursor_key == sandbox_id, pause=pilot.pause)


async def open_exec(pilot: Pilot[Any], sandbox_id: str) -> SandboxDetailScreen:
    """Select the sandbox and press ``x``, as a user would."""
    app = pilot.app
    await select(pilot, sandbox_id)
    await pilot.press("x")
    await eventually_async(lambda: isinstance(app.screen, SandboxDetailScreen), pause=pilot.pause)
    screen = app.screen
    assert isinstance(screen, SandboxDetailScreen)
    await eventually_async(lambda: screen.query_one("#exec-prompt").has_focus, pause=pilot.pause)
    return screen


async def open_create_form(pilot: Pilot[Any]) -> CreateScreen:
    """From the sandboxes list, press ``n`` as a user would; the form once it is up."""
    app = pilot.app
    await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
    await pilot.press("n")
    await eventually_async(lambda: isinstance(app.screen, CreateScreen), pause=pilot.pause)
    form = app.screen
    assert isinstance(form, CreateScreen)
    return form


async def test_create_via_the_form_until_running(platform: Any) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_create_form(pilot)
        form.query_one("#create-env").load_text("GREETING=hello")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await eventually_async(lambda: form.phase in ("done", "failed"), pause=pilot.pause)
        assert form.phase == "done", form.query_one("#create-status", Static).render()
        assert "running" in str(form.query_one("#create-status", Static).render())
        sandbox_id = form._created.id if form._created else ""
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
        await eventually_async(
            lambda: app.screen.query_one(SandboxTable).source.index_of(sandbox_id) is not None,
            pause=pilot.pause,
        )
        env = await app.client.sandboxes.exec(sandbox_id, "echo $GREETING")
        assert env.output.strip() == "hello"
        # Destroy it through the UI: the confirmation names it and needs an explicit yes.
        await select(pilot, sandbox_id)
        await pilot.press("d")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        assert sandbox_id in str(app.screen.query_one(".dialog-body", Static).render())
        await pilot.press("y")
        await eventually_async(
            lambda: (
                sandbox_id
                not in [
                    sb["id"]
                    for sb in httpx.get(
                        f"{platform.url}/v1/sandboxes", headers=platform.headers
                    ).json()
                ]
            ),
            pause=pilot.pause,
        )
        await eventually_async(
            lambda: app.screen.query_one(SandboxTable).row_count == 0, pause=pilot.pause
        )


async def test_exec_streams_output_and_the_exit_code(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_exec(pilot, sandbox)
        await type_text(pilot, "echo from-exec; exit 3\n")
        status = detail.query_one("#exec-status", Static)
        await eventually_async(lambda: "exit 3" in str(status.render()), pause=pilot.pause)
        assert "from-exec" in log_text(detail.query_one("#exec-output", RichLog))
        # History: ↑ brings the last command back.
        await pilot.press("up")
        assert detail.query_one("#exec-prompt").value == "echo from-exec; exit 3"  # type: ignore[attr-defined]


async def test_exec_ctrl_c_stops_yes(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_exec(pilot, sandbox)
        exec_panel = detail.query_one(ExecPanel)
        await type_text(pilot, "yes\n")
        output = detail.query_one("#exec-output", RichLog)
        await eventually_async(lambda: len(output.lines) > 20, pause=pilot.pause)
        await pilot.press("ctrl+c")
        await eventually_async(lambda: not exec_panel.running_command, pause=pilot.pause)
        assert app.is_running  # ctrl+c interrupted the command, it did not quit the app


async def _terminal(pilot: Pilot[Any], sandbox_id: str) -> TerminalTab:
    """Select the sandbox, press ``t`` and wait for the shell prompt."""
    app = pilot.app
    await select(pilot, sandbox_id)
    await pilot.press("t")
    await eventually_async(
        lambda: isinstance(app.screen, TerminalsScreen) and app.screen.query(TerminalTab),
        pause=pilot.pause,
    )
    tab = app.screen.query_one(TerminalTab)
    await eventually_async(lambda: tab.view.connected, pause=pilot.pause)
    await eventually_async(
        lambda: "$" in screen_text(tab) or "#" in screen_text(tab), pause=pilot.pause
    )
    return tab


def screen_text(tab: TerminalTab) -> str:
    return "\n".join(tab.view.terminal.display)


async def test_terminal_echo_hi(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        tab = await _terminal(pilot, sandbox)
        await type_text(pilot, "echo hi\n")
        await eventually_async(
            lambda: any(line.strip() == "hi" for line in tab.view.terminal.display),
            pause=pilot.pause,
        )


async def test_terminal_vi_opens_and_quits(platform: Any, sandbox: str) -> None:
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as client:
        has_vi = await client.sandboxes.exec(sandbox, "command -v vi")
    if has_vi.exit_code != 0:
        pytest.skip("no vi on this machine (install vim-tiny)")
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        tab = await _terminal(pilot, sandbox)
        await type_text(pilot, "vi\n")
        await eventually_async(
            lambda: tab.view.terminal.in_alternate or "~" in screen_text(tab).split("\n")[3],
            pause=pilot.pause,
        )
        await pilot.press("escape")
        await type_text(pilot, ":q\n")
        await eventually_async(lambda: not tab.view.terminal.in_alternate, pause=pilot.pause)
        await type_text(pilot, "echo back\n")
        await eventually_async(
            lambda: any(line.strip() == "back" for line in tab.view.terminal.display),
            pause=pilot.pause,
        )


async def test_terminal_follows_the_app_size(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        tab = await _terminal(pilot, sandbox)
        await type_text(pilot, "tput cols\n")
        first = str(tab.view.size.width)
        await eventually_async(
            lambda: any(line.strip() == first for line in tab.view.terminal.display),
            pause=pilot.pause,
        )
        await pilot.resize_terminal(100, 30)
        await eventually_async(lambda: tab.view.size.width != int(first), pause=pilot.pause)
        second = str(tab.view.size.width)
        # The widget debounces resizes; the new size is queued for the socket when the
        # screen takes it, ahead of anything typed after.
        await eventually_async(lambda: tab.view.terminal.columns == int(second), pause=pilot.pause)
        await type_text(pilot, "clear; tput cols\n")
        await eventually_async(
            lambda: any(line.strip() == second for line in tab.view.terminal.display),
            pause=pilot.pause,
        )


async def test_terminal_ctrl_c_stops_yes_and_ctrl_bracket_leaves(
    platform: Any, sandbox: str
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        tab = await _terminal(pilot, sandbox)
        await type_text(pilot, "yes\n")
        await eventually_async(lambda: screen_text(tab).count("y") > 10, pause=pilot.pause)
        await pilot.press("ctrl+c")
        await type_text(pilot, "echo stopped\n")
        await eventually_async(
            lambda: any(line.strip() == "stopped" for line in tab.view.terminal.display),
            pause=pilot.pause,
        )
        assert app.is_running
        await pilot.press("ctrl+right_square_bracket", "right_square_bracket")
        assert not tab.view.has_focus
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, SandboxesScreen), pause=pilot.pause)
