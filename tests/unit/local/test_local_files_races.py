"""The cage changes its workspace while the host reads and writes it (issue 10): a path
component swapped between a link and a directory or file mid-request gets an answer or
a clean 4xx refusal — never a 500 (``Invalid argument``) and never a way out."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from caged_platform.content import files
from caged_platform.content.content_errors import ContentError

ROUNDS = 3000


@pytest.fixture
def swapping(workspace: Path) -> Iterator[None]:
    """``/workspace/flip`` turns into a link, a directory and a file, over and over."""
    real = workspace / "real"
    real.mkdir()
    (real / "a.txt").write_text("inside\n")
    flip = workspace / "flip"
    stop = threading.Event()

    def swap() -> None:
        shapes: list[Callable[[Path], None]] = [
            lambda p: p.symlink_to("real"),
            lambda p: (p.mkdir(), (p / "a.txt").write_text("dir\n")),
            lambda p: p.write_text("file\n"),
            lambda p: p.symlink_to("/etc"),
        ]
        turn = moved = 0
        while not stop.is_set():
            temp = workspace / f".next-{turn}"
            shapes[turn % len(shapes)](temp)
            turn += 1
            while True:
                # rename(2) swaps atomically, so every lookup sees one shape or another; a
                # directory cannot replace a non-directory or vice versa: that one is moved.
                is_dir = [p.is_dir() and not p.is_symlink() for p in (temp, flip)]
                if os.path.lexists(flip) and any(is_dir):
                    moved += 1
                    os.rename(flip, workspace / f".old-{moved}")
                try:
                    os.rename(temp, flip)
                    break
                except OSError:
                    continue  # a write made flip a directory meanwhile: move that too

    worker = threading.Thread(target=swap, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join()


@pytest.mark.parametrize(
    "operation",
    [
        lambda ws: files.read_text(ws, "/workspace/flip/a.txt"),
        lambda ws: files.list_dir(ws, "/workspace/flip"),
        lambda ws: files.write_text(ws, "/workspace/flip/new.txt", "x"),
        lambda ws: files.read_text(ws, "/workspace/flip"),
    ],
    ids=["read", "list", "write", "read-final"],
)
@pytest.mark.usefixtures("swapping")
def test_a_swapped_path_is_answered_or_refused_cleanly(
    workspace: Path, operation: Callable[[Path], object]
) -> None:
    outcomes: set[str] = set()
    for _ in range(ROUNDS):
        try:
            result = operation(workspace)
        except ContentError as err:
            assert err.status < 500, f"{type(err).__name__}: {err}"
            outcomes.add(type(err).__name__)
        else:
            assert "root:" not in str(result)  # /etc never shows through
            outcomes.add("ok")
    assert "ok" in outcomes
