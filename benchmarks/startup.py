"""startup: process start → first frame of the sandboxes screen listing 10 sandboxes.

``caged-tui --base-url URL`` (key in ``CAGED_API_KEY``) runs on a real PTY
against the running local platform, which holds 10 sandboxes; the first frame
is the moment all ten ids have been written to the terminal (see
:mod:`benchmarks._pty`). It includes the interpreter, the imports, the client,
the ``GET /sandboxes`` round trip and the first paint.

Reference: a minimal Textual app showing one DataTable with the same 10 ids,
started and watched the same way. Both pay the interpreter and Textual; the
ratio is what caged-tui adds on top. Target: ≤ 1.3x.

What stands in the way (issue 12, profiled 5 Dec 2026 on the shared 2-core box,
load 5-10; CPU to the first frame from the process's own clock at each phase,
6-10 real PTY starts, medians): the minimal app spends ~300 ms (interpreter 28,
Textual's import 212, mount 26, GC 16, paint); caged-tui ~565 ms. The start is
CPU-bound in one interpreter, so wall time follows CPU. caged-tui's extra:
imports ~155 ms (pydantic 69, the client and models 48 — models alone 18 with
defer_build, the rest the resources' dataclasses and generics, pydantic's plugin
scan of installed packages inside it — httpx 29, the app's own modules 17),
building the HTTP transport 24 (httpcore and h11 import), the screen's mount
49 over the minimal app's (its module 11, compose and styling of header, table,
key bar), and the first request 40 (anyio's import 21, the Sandbox validator,
the round trip, parsing). The list on screen needs the client, pydantic and
httpx loaded, so ~190 ms of libraries sit on the path whatever the app does:
≤ 1.3x (~390 ms) is out of reach while the first frame shows fetched rows.
Tried and kept: bytecode for both apps in this benchmark (with
PYTHONDONTWRITEBYTECODE set, every start compiled ~60 modules), only the first
screen's stylesheets parsed before it (-15 ms), the confirm dialog imported on
use and the body composed with its class (-18 ms of mount), the garbage
collector held until the first frame (178 collections, ~60 ms, down to 3).
Tried and dropped: importing the client in a thread while Textual imports (the
GIL serialises the imports; no gain measured) and starting the first request
earlier (the platform answers in ~3 ms, too little to hide).
"""

from __future__ import annotations

from benchmarks._apps import clean_home, spawn_caged, spawn_minimal, ten_sandboxes
from benchmarks._common import Context, Row, at_most, interleave, median
from benchmarks._pty import PtyProcess


def _first_frame(process: PtyProcess) -> float:
    try:
        return process.first_frame()
    finally:
        process.close()


def run(context: Context) -> list[Row]:
    """Time to first frame, caged-tui vs a minimal DataTable app."""
    rounds = context.pick(3, 10)
    platform = context.platform
    with ten_sandboxes(platform) as ids, clean_home() as env:
        # One untimed start each warms the OS page cache and Python's bytecode cache.
        _first_frame(spawn_caged(platform, env, ids))
        _first_frame(spawn_minimal(env, ids))
        ours, ref = interleave(
            lambda: _first_frame(spawn_caged(platform, env, ids)),
            lambda: _first_frame(spawn_minimal(env, ids)),
            rounds,
        )
    return [
        Row(
            "startup",
            f"start → first frame, 10 sandboxes ({rounds} runs)",
            "s",
            median(ours),
            median(ref),
            at_most(1.3, "≤ 1.3x"),
            samples={"ours_s": ours, "reference_s": ref},
        ),
    ]
