"""files_tree: a workspace of 10,000 files — the files screen's first paint and the fuzzy find.

**First paint.** A sandbox on the real local platform holds 10,000 files in
``/workspace`` (one flat folder: the worst case for a tree, every entry a row at
once). In the running app, the files screen is pushed and the clock stops at
the first frame whose tree holds all 10,000 rows: the listing over HTTP, the
lazy tree, the virtual table and the paint. Reference: Textual's own
``DirectoryTree`` on the same 10,000 file names in a folder on local disk,
pushed the same way into a bare app, until the frame where its root holds all
10,000 nodes — the obvious way to show a tree, without any network. Target: the
screen is no slower than that (ratio ≤ 1), and paints within 0.5 s.

**Fuzzy find.** The files screen's ``/`` ranks the workspace's paths (fetched
once, inside the sandbox) on each key. Measured: one query over the 10,000
paths (:func:`caged_tui.screens.files.fuzzy.find`, best 200), for a few
queries. Reference: Textual's fuzzy ``Matcher`` — what its command palette
uses — scoring the same paths for the same queries and sorting them. Target:
ranking takes under a 60 Hz frame (p50 ≤ 16.7 ms), and no slower than the
reference. The listing itself (``files.walk``, one exec in the sandbox) is
shown as context.

``--quick`` uses 2,000 files and fewer rounds.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.fuzzy import Matcher
from textual.screen import Screen
from textual.widgets import DirectoryTree

from benchmarks._common import (
    CONTEXT,
    Context,
    Row,
    ainterleave,
    at_most,
    interleave,
    median,
    timed,
)
from benchmarks._frames import FrameProbe
from caged_core.client import AsyncCaged
from caged_tui.app import make_app
from caged_tui.screens.files import fuzzy
from caged_tui.screens.files.screen import FilesScreen
from caged_tui.settings import Settings

SIZE = (160, 40)
QUERIES = ("f123", "ile0999txt", "42", "fil7t")


class TreeScreen(Screen[None]):
    """Textual's DirectoryTree on a local folder."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path

    def compose(self) -> ComposeResult:
        yield DirectoryTree(self._path)


async def _first_paint(app: App[Any], screen: Screen[Any], ready: Any) -> float:
    """Seconds from pushing ``screen`` into the running ``app`` to the frame where
    ``ready()`` holds."""
    probe = FrameProbe(app)
    started = time.perf_counter()
    await app.push_screen(screen)
    return await asyncio.wait_for(probe.frame_where(ready), 120) - started


async def _ours(url: str, key: str, sandbox_id: str, count: int) -> float:
    client = AsyncCaged(api_key=key, base_url=url)
    app = make_app(client, Settings(profile="bench", base_url=url, local=True))
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause()
        screen = FilesScreen(sandbox_id)
        return await _first_paint(app, screen, lambda: screen.table.row_count == count)


async def _reference(folder: Path, count: int) -> float:
    app: App[None] = App()
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await pilot.pause()
        screen = TreeScreen(folder)

        def ready() -> bool:
            trees = screen.query(DirectoryTree)
            return bool(trees) and len(trees.first().root.children) == count

        return await _first_paint(app, screen, ready)


def _ms(rank: Callable[[list[str], str], object], paths: list[str], query: str) -> float:
    """Milliseconds ``rank(paths, query)`` takes."""
    return timed(lambda: rank(paths, query)) * 1000


def _matcher_rank(paths: list[str], query: str) -> list[str]:
    """What the command palette does: score every candidate, keep the matches, sort."""
    matcher = Matcher(query)
    scored = [(matcher.match(path), path) for path in paths]
    return [path for score, path in sorted(scored, reverse=True) if score > 0][: fuzzy.LIMIT]


def run(context: Context) -> list[Row]:
    """First paint of 10,000 files vs DirectoryTree; fuzzy find vs Textual's Matcher."""
    count = context.pick(2_000, 10_000)
    rounds = context.pick(2, 5)
    platform = context.platform

    async def prepare() -> tuple[str, list[str], float]:
        async with platform.client() as caged:
            sandbox = await caged.sandboxes.create("minimal")
            script = f"for i in $(seq -f '%05g' 1 {count}); do : > file-$i.txt; done"
            result = await caged.sandboxes.exec(sandbox.id, script)
            assert result.exit_code == 0, result.output
            started = time.perf_counter()
            entries = await caged.files.walk(sandbox.id)
            walked = time.perf_counter() - started
            return sandbox.id, [entry.path for entry in entries], walked

    sandbox_id, paths, walked = asyncio.run(prepare())
    assert len(paths) == count, f"{len(paths)} paths listed, {count} expected"
    with tempfile.TemporaryDirectory(prefix="caged-bench-tree-") as local:
        folder = Path(local)
        for path in paths:
            (folder / Path(path).name).touch()
        ours, reference = asyncio.run(
            ainterleave(
                lambda: _ours(platform.url, platform.api_key, sandbox_id, count),
                lambda: _reference(folder, count),
                rounds,
            )
        )
    find_ours: list[float] = []
    find_ref: list[float] = []
    for query in QUERIES:
        mine, theirs = interleave(
            partial(_ms, fuzzy.find, paths, query),
            partial(_ms, _matcher_rank, paths, query),
            context.pick(3, 10),
        )
        find_ours += mine
        find_ref += theirs
    return [
        Row(
            "files_tree",
            f"first paint, {count:,} files ({rounds} runs)",
            "s",
            median(ours),
            median(reference),
            at_most(0.5, "≤ 0.5 s"),
            judged="ours",
            samples={"ours_s": ours, "reference_s": reference},
        ),
        Row(
            "files_tree",
            "first paint vs DirectoryTree on local disk",
            "s",
            median(ours),
            median(reference),
            at_most(1.0, "≤ 1x"),
        ),
        Row(
            "files_tree",
            f"fuzzy find over {count:,} paths p50 ({len(find_ours)} queries)",
            "ms",
            median(find_ours),
            median(find_ref),
            at_most(16.7, "p50 ≤ 16.7 ms"),
            judged="ours",
            samples={"ours_ms": find_ours, "reference_ms": find_ref},
        ),
        Row(
            "files_tree",
            "fuzzy find vs Textual's Matcher",
            "ms",
            median(find_ours),
            median(find_ref),
            at_most(1.0, "≤ 1x"),
        ),
        Row(
            "files_tree",
            f"listing {count:,} paths inside the sandbox (files.walk, 1 run)",
            "s",
            walked,
            None,
            CONTEXT,
        ),
    ]
