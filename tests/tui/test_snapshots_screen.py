"""The snapshots screen against the real local platform: snapshot, break, restore; fork;
download a valid archive of the right size."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventually import eventually_async
from test_files import open_from_list, project_sandbox
from test_live import live_app, type_text
from textual.pilot import Pilot

from caged_core.client import AsyncCaged
from caged_core.models import SnapshotStatus
from caged_tui.screens.detail.screen import SandboxDetailScreen
from caged_tui.screens.snapshots import SnapshotsScreen
from caged_tui.widgets.dialogs import ChoiceDialog, FormDialog
from caged_tui.widgets.sandbox_picker import SandboxPicker

pytestmark = pytest.mark.integration

SIZE = (140, 40)


@pytest.fixture(scope="module")
def sandbox(platform: Any) -> Iterator[str]:
    """A running sandbox with one file (this module's own: it is restored and forked)."""
    with project_sandbox(platform, "echo precious > keep.txt") as sid:
        yield sid


async def open_snapshots(pilot: Pilot[Any], sandbox_id: str) -> SnapshotsScreen:
    """Select the sandbox and press ``s``, as a user would."""
    return await open_from_list(pilot, sandbox_id, "s", SnapshotsScreen)


async def test_snapshot_break_restore(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_snapshots(pilot, sandbox)
        await pilot.press("n")
        await eventually_async(lambda: isinstance(app.screen, FormDialog), pause=pilot.pause)
        await type_text(pilot, "good state\n\n")
        await eventually_async(
            lambda: any(
                s.name == "good state" and s.status == SnapshotStatus.COMPLETED
                for s in screen._source.items
            ),
            pause=pilot.pause,
        )
        async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as caged:
            await caged.files.write(sandbox, "/workspace/keep.txt", "broken\n")
            await pilot.press("R")  # the target picker, on this sandbox
            await eventually_async(lambda: isinstance(app.screen, SandboxPicker), pause=pilot.pause)
            await pilot.press("enter")
            await eventually_async(lambda: isinstance(app.screen, ChoiceDialog), pause=pilot.pause)
            await pilot.press("s")  # snapshot the target first, then restore
            await eventually_async(
                lambda: len(screen._source.items) == 2 and not screen.has_class("-busy"),
                pause=pilot.pause,
            )
            assert await caged.files.read(sandbox, "/workspace/keep.txt") == "precious\n"
            names = {s.name for s in screen._source.items}
            assert any(name.startswith("before restore of") for name in names)


async def test_download_writes_a_valid_archive_of_the_right_size(
    platform: Any, sandbox: str, tmp_path: Path
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_snapshots(pilot, sandbox)
        await eventually_async(lambda: screen.table.row_count > 0, pause=pilot.pause)
        screen.table.move_to(next(s.id for s in screen._source.items if s.name == "good state"))
        snapshot = screen.current()
        assert snapshot is not None
        await pilot.press("w")
        await eventually_async(lambda: isinstance(app.screen, FormDialog), pause=pilot.pause)
        form = app.screen
        assert isinstance(form, FormDialog)
        target = tmp_path / "good.tar.gz"
        form.query_one("#field-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await eventually_async(
            lambda: target.exists() and not screen.has_class("-busy"), pause=pilot.pause
        )
        assert target.stat().st_size == snapshot.size_bytes
        with tarfile.open(target) as archive:
            assert "keep.txt" in {Path(name).name for name in archive.getnames()}


async def test_fork_opens_a_running_sandbox_with_the_files(platform: Any, sandbox: str) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_snapshots(pilot, sandbox)
        await eventually_async(lambda: screen.table.row_count > 0, pause=pilot.pause)
        screen.table.move_to(next(s.id for s in screen._source.items if s.name == "good state"))
        await pilot.press("F")
        detail = await eventually_async(
            lambda: app.screen if isinstance(app.screen, SandboxDetailScreen) else None,
            pause=pilot.pause,
        )
        assert detail.sandbox_id != sandbox
        async with AsyncCaged(api_key=platform.api_key, base_url=platform.url) as caged:
            try:
                fork = await caged.sandboxes.get(detail.sandbox_id)
                assert fork.status.value == "running"
                text = await caged.files.read(detail.sandbox_id, "/workspace/keep.txt")
                assert text == "precious\n"
            finally:
                await caged.sandboxes.destroy(detail.sandbox_id)
