"""Snapshot tests (SVG) of the files, editor, diff and snapshots screens, on the fixed
mock platform plus a fixed workspace (tests/tui/fake_workspace.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from eventually import eventually_async
from fake_platform import fake_app
from fake_workspace import workspace_handler
from test_snapshots import SIZE, Snap, settle
from textual.pilot import Pilot
from textual.widgets import TextArea

from caged_tui.screens.diff import DiffScreen
from caged_tui.screens.files.preview import FilePreview, PreviewState
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.screens.snapshots import SnapshotsScreen
from caged_tui.widgets.dialogs import ChoiceDialog
from caged_tui.widgets.sandbox_picker import SandboxPicker


async def _until(pilot: Pilot[Any], predicate: Callable[[], object]) -> None:
    await eventually_async(predicate, pause=pilot.pause)


async def open_files_with_preview(pilot: Pilot[Any]) -> FilesScreen:
    """From the list: f, into src/, onto app.py; the preview shows it highlighted."""
    await settle(pilot)
    await pilot.press("f")
    app = pilot.app
    await _until(pilot, lambda: isinstance(app.screen, FilesScreen))
    screen = app.screen
    assert isinstance(screen, FilesScreen)
    await _until(pilot, lambda: screen.table.row_count == 4)
    await pilot.press("j", "l")
    await _until(pilot, lambda: screen.table.row_count == 7)
    await pilot.press("j")
    preview = screen.query_one(FilePreview)
    await _until(pilot, lambda: preview.state is PreviewState.TEXT)
    await settle(pilot)
    return screen


def files_then(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def before(pilot: Pilot[Any]) -> None:
        await open_files_with_preview(pilot)
        for key in keys:
            await pilot.press(key)
        await settle(pilot)

    return before


def test_files_with_preview(snap_compare: Snap) -> None:
    app = fake_app(workspace_handler())
    assert snap_compare(app, terminal_size=SIZE, run_before=files_then())


def test_files_binary_described(snap_compare: Snap) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        screen = await open_files_with_preview(pilot)
        await pilot.press("j")
        preview = screen.query_one(FilePreview)
        await _until(pilot, lambda: preview.state is PreviewState.INFO and preview.path)
        await settle(pilot)

    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=before)


def test_editor_with_unsaved_changes(snap_compare: Snap) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        screen = await open_files_with_preview(pilot)
        await pilot.press("e")
        area = screen.query_one("#preview-text", TextArea)
        area.move_cursor((4, 11))
        await pilot.press("backspace", "backspace", "backspace", "backspace", "9", "0", "9", "0")
        await settle(pilot)

    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=before)


def test_files_fuzzy_find(snap_compare: Snap) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        screen = await open_files_with_preview(pilot)
        await pilot.press("slash", "g", "d")
        await _until(pilot, lambda: screen.query_one("#files-found").row_count > 0)  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=before)


def _diff(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def before(pilot: Pilot[Any]) -> None:
        await open_files_with_preview(pilot)
        await pilot.press("D")
        app = pilot.app
        await _until(pilot, lambda: isinstance(app.screen, DiffScreen))
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        await _until(pilot, lambda: screen.view.file is not None)
        for key in keys:
            await pilot.press(key)
        await settle(pilot)

    return before


def test_diff_unified(snap_compare: Snap) -> None:
    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=_diff("j"))


def test_diff_side_by_side(snap_compare: Snap) -> None:
    before = _diff("j", "s")
    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=before)


async def _snapshots(pilot: Pilot[Any]) -> SnapshotsScreen:
    await settle(pilot)
    await pilot.press("s")
    app = pilot.app
    await _until(pilot, lambda: isinstance(app.screen, SnapshotsScreen))
    screen = app.screen
    assert isinstance(screen, SnapshotsScreen)
    await _until(pilot, lambda: screen.table.row_count == 3)
    await settle(pilot)
    return screen


def test_snapshots_list(snap_compare: Snap) -> None:
    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=_snapshots)


def test_restore_confirmation(snap_compare: Snap) -> None:
    async def before(pilot: Pilot[Any]) -> None:
        await _snapshots(pilot)
        await pilot.press("j", "R")
        await _until(pilot, lambda: isinstance(pilot.app.screen, SandboxPicker))
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(pilot.app.screen, ChoiceDialog))
        await settle(pilot)

    assert snap_compare(fake_app(workspace_handler()), terminal_size=SIZE, run_before=before)
