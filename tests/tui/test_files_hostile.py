"""A file the sandbox rewrites while it is being edited never reaches the user's terminal as
it is: choosing to reload it reads it again as any file is read (a file holding control
characters is described, not handed to the editor, which paints characters as they are)."""

from __future__ import annotations

from eventually import eventually_async
from fake_platform import fake_app
from fake_workspace import FakeWorkspace
from test_app import SIZE, loaded
from textual.app import App

from caged_tui.screens.files.preview import PreviewState
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.widgets.dialogs import ChoiceDialog

CLIPBOARD = "\x1b]52;c;aGk=\x07"  # sets the host's clipboard to "hi"


def _terminal_bytes(app: App[None]) -> str:
    """Everything Textual would write to the terminal for the current screen."""
    return app.screen._compositor.render_full_update().render_segments(app.console)


async def test_reloading_a_file_the_sandbox_rewrote_checks_it_again() -> None:
    fake = FakeWorkspace()
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("f")
        screen = await eventually_async(
            lambda: app.screen if isinstance(app.screen, FilesScreen) else None, pause=pilot.pause
        )
        await eventually_async(lambda: screen.table.row_count == 4, pause=pilot.pause)
        screen.table.move_to("/workspace/README.md")
        preview = screen.preview
        await eventually_async(lambda: preview.state is PreviewState.TEXT, pause=pilot.pause)
        await pilot.press("e", "x")
        fake.content["/workspace/README.md"] = f"rewritten {CLIPBOARD}\n"
        await pilot.press("ctrl+s")
        await eventually_async(lambda: isinstance(app.screen, ChoiceDialog), pause=pilot.pause)
        await pilot.press("r")  # reload: the sandbox's copy
        await eventually_async(lambda: app.screen is screen, pause=pilot.pause)
        await eventually_async(lambda: preview.state is PreviewState.INFO, pause=pilot.pause)
        assert not preview.modified
        assert "\x1b]52" not in _terminal_bytes(app)
