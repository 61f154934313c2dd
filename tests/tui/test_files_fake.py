"""Files, diff and snapshots on the mock platform: reachable by name, in the palette and
the help; a workspace outside git says so."""

from __future__ import annotations

import base64
import contextlib
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from eventually import eventually_async
from fake_platform import fake_app
from fake_workspace import SANDBOX, FakeWorkspace
from test_app import SIZE, loaded
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from caged_core.client._in_cage import MARK
from caged_tui.commands import CagedCommands
from caged_tui.screens.diff import DiffScreen
from caged_tui.screens.files.preview import PreviewState
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.screens.help import key_rows
from caged_tui.screens.snapshots import SnapshotsScreen
from caged_tui.widgets.dialogs import ChoiceDialog

ScreenT = TypeVar("ScreenT", bound=Screen[Any])


async def press_for(pilot: Pilot[Any], kind: type[ScreenT], *keys: str) -> ScreenT:
    """Press ``keys`` as a user would; the screen of type ``kind`` they open."""
    await pilot.press(*keys)
    app = pilot.app
    found: ScreenT = await eventually_async(
        lambda: app.screen if isinstance(app.screen, kind) else None, pause=pilot.pause
    )
    return found


class NotARepository(FakeWorkspace):
    """The workspace is not in git: an empty diff, and git status exits 128."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1")
        if path == f"/sandboxes/{SANDBOX}/git/diff":
            return self._json({"files": [], "diff": "", "staged_diff": ""})
        if path == f"/sandboxes/{SANDBOX}/exec":
            empty = base64.b64encode(b"").decode()
            return self._json({"output": f"{MARK}\n{empty}\n.\n.\n128\n", "exit_code": 0})
        return super().handle(request)


async def test_every_action_is_in_the_palette_and_the_help() -> None:
    app = fake_app(FakeWorkspace().handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        titles = {command.title for command in CagedCommands(app.screen).commands()}
        for expected in (
            "Sandboxes: Files",
            "Sandboxes: Snapshots",
            "Sandboxes: Git diff",
            "Files: Find",
            "Files: Edit",
            "Files: Rename",
            "Files: Save",
            "Files: Copy path",
            "Diff: Side by side/unified",
            "Diff: Next hunk",
            "Snapshots: Restore",
            "Snapshots: Fork",
            "Snapshots: Download",
            "Snapshots: Copy URL",
        ):
            assert expected in titles
        screen = await press_for(pilot, FilesScreen, "colon", "f", "i", "l", "e", "s", "enter")
        ids = {row.binding_id for row in key_rows(screen)}
        assert {"files.find", "files.edit", "files.new_file", "files.rename", "files.delete"} <= ids
        assert {"files.copy_path", "files.hidden", "files.external_editor", "files.diff"} <= ids


async def test_snapshots_of_every_sandbox_by_name() -> None:
    app = fake_app(FakeWorkspace().handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, SnapshotsScreen, "colon", "s", "n", "a", "p", "enter")
        assert screen.sandbox_id is None
        await eventually_async(lambda: screen.table.row_count == 3, pause=pilot.pause)


async def test_a_workspace_outside_git_says_so() -> None:
    app = fake_app(NotARepository().handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, DiffScreen, "D")
        title = screen.query_one("#diff-title", Static)
        await eventually_async(
            lambda: "not a git repository" in str(title.render()), pause=pilot.pause
        )


async def test_leaving_with_unsaved_changes_asks() -> None:
    app = fake_app(FakeWorkspace().handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, FilesScreen, "f")
        await eventually_async(lambda: screen.table.row_count == 4, pause=pilot.pause)
        screen.table.move_to("/workspace/README.md")
        preview = screen.preview
        await eventually_async(lambda: preview.state is PreviewState.TEXT, pause=pilot.pause)
        await pilot.press("e", "x")
        assert preview.modified
        # esc in the editor asks; cancel keeps the changes and the editor.
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, ChoiceDialog), pause=pilot.pause)
        await pilot.press("c")
        await eventually_async(lambda: app.screen is screen, pause=pilot.pause)
        assert preview.modified and preview.editing
        # The edited file stays in the pane while the tree's cursor moves on.
        screen.table.focus()
        await pilot.press("j")
        assert preview.path == "/workspace/README.md" and preview.modified
        # Leaving the screen asks too; discard drops the changes and leaves.
        await pilot.press("escape")
        await eventually_async(lambda: isinstance(app.screen, ChoiceDialog), pause=pilot.pause)
        await pilot.press("d")
        await eventually_async(lambda: not isinstance(app.screen, FilesScreen), pause=pilot.pause)
        assert not preview.modified


async def test_a_screen_opened_again_still_follows_the_live_feed() -> None:
    """Regression (seen in tmux): topics are kept by name, and a second snapshots screen of
    the sandbox reused the first one's fetch, which asked whether the *first* was in front."""
    fake = FakeWorkspace()
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for expected in (3, 4):
            screen = await press_for(pilot, SnapshotsScreen, "s")
            await eventually_async(
                lambda screen=screen, expected=expected: screen.table.row_count == expected,
                pause=pilot.pause,
            )
            await pilot.press("escape")
            await eventually_async(lambda: not isinstance(app.screen, SnapshotsScreen))
            fake.snapshots.append({**fake.snapshots[0], "id": "snap-00000004", "name": "new"})


class PausedWorkspace(FakeWorkspace):
    """git runs inside the sandbox, which is paused: the diff route refuses (409)."""

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/git/diff"):
            problem = {"title": "Conflict", "status": 409, "detail": "the sandbox is paused"}
            return self._json(problem, 409)
        return super().handle(request)


async def test_a_diff_that_cannot_be_made_says_why() -> None:
    app = fake_app(PausedWorkspace().handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, DiffScreen, "D")
        title = screen.query_one("#diff-title", Static)
        await eventually_async(
            lambda: "no diff: the sandbox is paused" in str(title.render()), pause=pilot.pause
        )


async def test_external_editor_uploads_only_a_changed_copy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``E``: the app hands the terminal to $EDITOR on a temporary copy (suspend is a no-op
    headless, so it is replaced), and uploads the copy only when the editor changed it."""
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "edited by the editor\\n" > "$1"\n')
    editor.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(editor))
    fake = FakeWorkspace()
    app = fake_app(fake.handle)
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, FilesScreen, "f")
        await eventually_async(lambda: screen.table.row_count == 4, pause=pilot.pause)
        screen.table.move_to("/workspace/README.md")
        await pilot.press("E")
        await eventually_async(
            lambda: fake.content["/workspace/README.md"] == "edited by the editor\n",
            pause=pilot.pause,
        )
        await eventually_async(
            lambda: screen.preview.text_area.text == "edited by the editor\n", pause=pilot.pause
        )
        # An editor that changes nothing uploads nothing.
        monkeypatch.setenv("VISUAL", "true")
        puts = len(fake.calls("PUT", "/files/content"))
        assert puts == 1
        await pilot.press("E")
        await eventually_async(
            lambda: any("No changes" in str(n.message) for n in app._notifications),
            pause=pilot.pause,
        )
        assert len(fake.calls("PUT", "/files/content")) == puts


async def test_y_copies_the_download_url() -> None:
    app = fake_app(FakeWorkspace().handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, SnapshotsScreen, "s")
        await eventually_async(lambda: screen.table.row_count == 3, pause=pilot.pause)
        screen.table.move_to("snap-5e6f7a8b")
        await pilot.press("y")
        await eventually_async(
            lambda: (
                app.clipboard == "http://caged.test/v1/snapshots/snap-5e6f7a8b/download/content"
            ),
            pause=pilot.pause,
        )


async def test_a_file_over_the_read_limit_is_described_not_read() -> None:
    fake = FakeWorkspace()
    app = fake_app(fake.handle)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, FilesScreen, "f")
        screen.reveal("/workspace/docs/big.log")
        info = screen.query_one("#preview-info", Static)
        await eventually_async(
            lambda: "2.5 MB · over the 1 MB the API reads" in str(info.render()),
            pause=pilot.pause,
        )
        assert "First 20 bytes" in str(info.render())
        assert not fake.calls("GET", "/files/content")  # never read


async def test_the_editors_copy_is_named_without_the_files_control_characters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The copy keeps the file's extension (for the editor's highlighting), but not the
    control characters of a sandbox-chosen one: editors show a file's name in the host
    terminal's title and status line."""
    said = tmp_path / "said"
    editor = tmp_path / "editor.sh"
    editor.write_text(f'#!/bin/sh\nprintf %s "$1" > {said}\n')
    editor.chmod(0o755)
    monkeypatch.setenv("VISUAL", str(editor))
    app = fake_app(FakeWorkspace().handle)
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, FilesScreen, "f")
        for hostile in ("a.\x1b]2;x\x07py", "a." + "x" * 253):  # the longest name there is
            said.unlink(missing_ok=True)
            screen.post_message(screen.EditorReady(f"/workspace/{hostile}", "text\n"))
            await eventually_async(lambda: said.exists() and said.read_text(), pause=pilot.pause)
            assert Path(said.read_text()).name == "edit"


async def test_a_copy_for_the_editor_that_cannot_be_made_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VISUAL", "true")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))  # as a full /tmp fails
    app = fake_app(FakeWorkspace().handle)
    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        screen = await press_for(pilot, FilesScreen, "f")
        screen.post_message(screen.EditorReady("/workspace/README.md", "text\n"))
        await eventually_async(
            lambda: any(
                "Could not make a copy for true: No such file or directory" in str(n.message)
                and n.severity == "error"
                for n in app._notifications
            ),
            pause=pilot.pause,
        )
