"""``:files`` (and the other per-sandbox screens) from the terminals screen open for the
terminal in front, as they do from a sandbox's detail."""

from __future__ import annotations

from typing import Any

from eventually import eventually_async
from fake_platform import fake_app
from fake_workspace import FakeWorkspace
from test_app import SIZE, loaded
from test_defects import IdleSession

from caged_tui.screens.files.screen import FilesScreen
from caged_tui.screens.terminals import TerminalsScreen
from caged_tui.widgets.terminal import TerminalView


async def test_files_from_a_terminal_open_for_its_sandbox() -> None:
    app = fake_app(FakeWorkspace().handle)

    async def terminal(sandbox_id: str, **_: Any) -> IdleSession:
        return IdleSession()

    async with app.run_test(size=SIZE) as pilot:
        sandbox_id = (await loaded(pilot)).table.cursor_key
        assert sandbox_id is not None
        app.client.sandboxes.terminal = terminal  # type: ignore[method-assign]
        await pilot.press("t")
        await eventually_async(lambda: isinstance(app.screen, TerminalsScreen), pause=pilot.pause)
        view = app.screen.query_one(TerminalView)
        await eventually_async(lambda: view.connected, pause=pilot.pause)
        await pilot.press("ctrl+right_square_bracket", "colon", *"files", "enter")
        files = await eventually_async(
            lambda: app.screen if isinstance(app.screen, FilesScreen) else None,
            pause=pilot.pause,
        )
        assert files.sandbox_id == sandbox_id
