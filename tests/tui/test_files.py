"""The files screen against the real local platform: browse, preview, edit, find, change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import pytest
from eventually import eventually, eventually_async
from test_live import live_app, select, type_text
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from caged_core.client import AsyncCaged
from caged_tui.app import make_app
from caged_tui.screens.diff import DiffFileTable, DiffScreen
from caged_tui.screens.files.preview import FilePreview, PreviewState
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.settings import Settings
from caged_tui.status import Connection
from caged_tui.widgets.dialogs import ChoiceDialog

pytestmark = pytest.mark.integration

SIZE = (140, 40)


@contextmanager
def project_sandbox(platform: Any, script: str) -> Iterator[str]:
    """A running sandbox of its own, ``script`` run in its workspace first; destroyed after."""
    with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=360) as http:
        sid = http.post("/v1/sandboxes", json={"template": "minimal"}).json()["id"]
        try:
            eventually(
                lambda: http.get(f"/v1/sandboxes/{sid}").json()["status"] == "running",
                120,
                what=f"{sid} to start",
            )
            result = http.post(f"/v1/sandboxes/{sid}/exec", json={"command": script}).json()
            assert result["exit_code"] == 0, result
            yield sid
        finally:
            http.delete(f"/v1/sandboxes/{sid}")


@pytest.fixture(scope="module")
def sandbox(platform: Any) -> Iterator[str]:
    """A running sandbox with a small project (this module's own: its files change)."""
    script = (
        "mkdir -p src/pkg/deep docs && printf 'def main():\\n    return 1\\n' > src/pkg/app.py"
        " && printf 'hello\\n' > docs/readme.md && printf 'x' > .hidden"
        " && printf '\\000\\001PNGbinary' > src/pkg/deep/blob.bin"
        " && git init -q . && git add -A"
        " && git -c user.name=t -c user.email=t@t commit -qm init"
    )
    with project_sandbox(platform, script) as sid:
        yield sid


ScreenT = TypeVar("ScreenT", bound=Screen[Any])


async def open_from_list(
    pilot: Pilot[Any], sandbox_id: str, key: str, kind: type[ScreenT]
) -> ScreenT:
    """Select the sandbox in the list and press ``key``, as a user would; the screen."""
    await select(pilot, sandbox_id)
    await pilot.press(key)
    app = pilot.app
    found: ScreenT = await eventually_async(
        lambda: app.screen if isinstance(app.screen, kind) else None, pause=pilot.pause
    )
    return found


async def open_files(pilot: Pilot[Any], sandbox_id: str) -> FilesScreen:
    """Select the sandbox and press ``f``, as a user would."""
    screen = await open_from_list(pilot, sandbox_id, "f", FilesScreen)
    await eventually_async(lambda: screen.table.row_count >= 2, pause=pilot.pause)
    return screen


def row_names(screen: FilesScreen) -> list[str]:
    table = screen.table
    return [row.cells[0][0].strip() for row in table.source.rows(0, table.row_count)]


async def test_browse_preview_edit_and_save(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, sandbox)
        assert row_names(screen) == ["▸ docs/", "▸ src/"]  # .hidden is hidden
        await pilot.press("full_stop")
        await eventually_async(lambda: ".hidden" in row_names(screen), pause=pilot.pause)
        await pilot.press("full_stop")
        # Into the nested folder with l/j, as a user would.
        await pilot.press("j", "l")
        await eventually_async(lambda: "▸ pkg/" in row_names(screen), pause=pilot.pause)
        await pilot.press("j", "l")
        await eventually_async(lambda: "app.py" in row_names(screen), pause=pilot.pause)
        screen.table.move_to("/workspace/src/pkg/app.py")
        preview = screen.query_one(FilePreview)
        await eventually_async(lambda: preview.state is PreviewState.TEXT, pause=pilot.pause)
        assert preview.text_area.text == "def main():\n    return 1\n"
        assert preview.text_area.language == "python"
        # Edit: the marker shows, ctrl+s writes the bytes into the sandbox.
        await pilot.press("e")
        assert preview.editing
        preview.text_area.move_cursor((1, 12))
        await pilot.press("backspace", "4", "2")
        assert preview.modified
        assert "modified" in str(screen.query_one("#preview-title", Static).render())
        await pilot.press("ctrl+s")
        await eventually_async(lambda: not preview.modified, pause=pilot.pause)
        async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as caged:
            saved = await caged.files.read(sandbox, "/workspace/src/pkg/app.py")
            assert saved == "def main():\n    return 42\n"
            # The change shows as modified in the tree (git status from the live feed).
            await eventually_async(
                lambda: (
                    screen._source.git_status("/workspace/src/pkg/app.py") == "modified"
                    and screen._source.git_status("/workspace/src") == "modified"
                ),
                pause=pilot.pause,
            )
            # A concurrent change is detected at save.
            await pilot.press("backspace")
            await caged.files.write(sandbox, "/workspace/src/pkg/app.py", "changed elsewhere\n")
            await pilot.press("ctrl+s")
            await eventually_async(lambda: isinstance(app.screen, ChoiceDialog), pause=pilot.pause)
            await pilot.press("r")  # reload
            await eventually_async(
                lambda: preview.text_area.text == "changed elsewhere\n", pause=pilot.pause
            )
            assert not preview.modified


async def test_binary_files_are_described_not_shown(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, sandbox)
        screen.reveal("/workspace/src/pkg/deep/blob.bin")
        preview = screen.query_one(FilePreview)
        await eventually_async(
            lambda: (
                screen.table.cursor_key == "/workspace/src/pkg/deep/blob.bin"
                and preview.state is PreviewState.INFO
                and "00 01 50 4e 47" in str(screen.query_one("#preview-info", Static).render())
            ),
            pause=pilot.pause,
        )


async def test_fuzzy_find_new_rename_delete(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, sandbox)
        await pilot.press("slash")
        await type_text(pilot, "readme")
        found = screen.query_one("#files-found")
        await eventually_async(
            lambda: found.cursor_key == "/workspace/docs/readme.md",  # type: ignore[attr-defined]
            pause=pilot.pause,
        )
        await pilot.press("enter")
        await eventually_async(
            lambda: screen.table.cursor_key == "/workspace/docs/readme.md", pause=pilot.pause
        )
        # A new file beside it.
        await pilot.press("n")
        await type_text(pilot, "notes.txt\n")
        await eventually_async(
            lambda: screen.table.cursor_key == "/workspace/docs/notes.txt", pause=pilot.pause
        )
        await pilot.press("R")
        await eventually_async(lambda: app.screen is not screen, pause=pilot.pause)
        await pilot.press("end", "backspace", "backspace", "backspace", "m", "d", "enter")
        await eventually_async(
            lambda: screen.table.cursor_key == "/workspace/docs/notes.md", pause=pilot.pause
        )
        await pilot.press("d")
        await eventually_async(lambda: app.screen is not screen, pause=pilot.pause)
        await pilot.press("y")
        await eventually_async(
            lambda: "notes.md" not in row_names(screen) and "readme.md" in row_names(screen),
            pause=pilot.pause,
        )


async def test_a_change_made_by_exec_shows_in_the_tree_and_the_diff(
    platform: Any, sandbox: str
) -> None:
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as caged:
        await caged.sandboxes.exec(
            sandbox,
            "printf 'hello\\nworld\\n' > docs/readme.md && printf 'new\\n' > docs/staged.md"
            " && git add docs/staged.md",
        )
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, sandbox)
        await eventually_async(
            lambda: screen._source.git_status("/workspace/docs") == "modified", pause=pilot.pause
        )
        await pilot.press("D")
        await eventually_async(lambda: isinstance(app.screen, DiffScreen), pause=pilot.pause)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        table = diff.query_one("#diff-files", DiffFileTable)

        def rows() -> dict[str, tuple[str, ...]]:
            return {
                row.key: tuple(text for text, _ in row.cells)
                for row in table.source.rows(0, table.row_count)
            }

        await eventually_async(lambda: "unstaged:docs/readme.md" in rows(), pause=pilot.pause)
        assert rows()["unstaged:docs/readme.md"] == ("M", "docs/readme.md", "+1", "", "unstaged")
        assert rows()["staged:docs/staged.md"][::2] == ("A", "+1", "staged")
        table.move_to("unstaged:docs/readme.md")
        await eventually_async(lambda: diff.view.file is not None, pause=pilot.pause)
        assert diff.view.hunk_offsets
        await pilot.press("s")
        assert diff.view.side_by_side
        await pilot.press("n", "p", "escape")
        await eventually_async(lambda: app.screen is screen, pause=pilot.pause)


async def test_a_read_only_key_browses_with_git_statuses_and_stays_online(
    platform: Any, sandbox: str
) -> None:
    """git status runs through exec, which a read-only key may not call: the statuses come
    from the REST diff instead, and the app never turns "unauthorized"."""
    async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as caged:
        made = await caged.account.create_key("read-only files", scope="read_only")
        await caged.files.write(sandbox, "/workspace/docs/readme.md", "changed\n")
    client = AsyncCaged(api_key=made.key, base_url=platform.url)
    app = make_app(client, Settings(base_url=platform.url, local=True, refresh_seconds=1.0))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_files(pilot, sandbox)
        await eventually_async(
            lambda: screen._source.git_status("/workspace/docs") == "modified", pause=pilot.pause
        )
        assert app.status.connection is Connection.ONLINE
        # Writing is refused with the server's reason, as a notification.
        screen.table.move_to("/workspace/docs")
        await pilot.press("n")
        await type_text(pilot, "new.txt\n")
        await eventually_async(
            lambda: any("read_only" in str(n.message) for n in app._notifications),
            pause=pilot.pause,
        )
