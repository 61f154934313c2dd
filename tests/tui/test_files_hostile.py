"""What the sandbox names or writes never reaches the user's terminal as it is: a file it
rewrote while it was being edited is read again as any file is on reload (one holding control
characters is described, not handed to the editor, which paints characters as they are), and
a hostile name is escaped in the rename dialog's field too."""

from __future__ import annotations

import httpx
from eventually import eventually_async
from fake_platform import fake_app
from fake_workspace import SANDBOX, FakeWorkspace
from test_app import SIZE, loaded
from textual.app import App

from caged_tui.screens.files.preview import PreviewState
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.widgets.dialogs import ChoiceDialog, FormDialog

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


HOSTILE = f"notes{CLIPBOARD}.txt"


class HostileNames(FakeWorkspace):
    """The workspace's top level holds a file named with an escape sequence."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        listing = request.url.path == f"/v1/sandboxes/{SANDBOX}/files"
        if listing and request.url.params.get("path", "/workspace") == "/workspace":
            entry = {
                "name": HOSTILE,
                "path": f"/workspace/{HOSTILE}",
                "type": "file",
                "size": 3,
                "mod_time": "2026-11-27T09:00:00Z",
            }
            return self._json([entry])
        return super().handle(request)


async def test_renaming_a_hostile_name_shows_it_escaped_and_keeps_it() -> None:
    fake = HostileNames()
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("f")
        screen = await eventually_async(
            lambda: app.screen if isinstance(app.screen, FilesScreen) else None, pause=pilot.pause
        )
        await eventually_async(lambda: screen.table.row_count == 1, pause=pilot.pause)
        screen.table.focus()
        await pilot.press("R")
        dialog = await eventually_async(
            lambda: app.screen if isinstance(app.screen, FormDialog) else None, pause=pilot.pause
        )
        await pilot.pause()
        assert "\x1b]52" not in _terminal_bytes(app)
        assert r"notes\x1b]52;c;aGk=\x07.txt" in _terminal_bytes(app)
        await pilot.press("enter")  # the name as it was: nothing is renamed
        await eventually_async(lambda: app.screen is not dialog, pause=pilot.pause)
        await pilot.pause()
        assert not [
            r for r in fake.requests if r.url.path.endswith("/exec") and b"mv -T" in r.content
        ]
