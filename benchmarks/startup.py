"""startup: process start → first frame of the sandboxes screen listing 10 sandboxes.

``caged-tui --base-url URL`` (key in ``CAGED_API_KEY``) runs on a real PTY
against the running local platform, which holds 10 sandboxes; the first frame
is the moment all ten ids have been written to the terminal (see
:mod:`benchmarks._pty`). It includes the interpreter, the imports, the client,
the ``GET /sandboxes`` round trip and the first paint.

Reference: a minimal Textual app showing one DataTable with the same 10 ids,
started and watched the same way. Both pay the interpreter and Textual; the
ratio is what caged-tui adds on top. Target: ≤ 1.3x.
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
        Row("startup", f"start → first frame, 10 sandboxes ({rounds} runs)", "s", median(ours),
            median(ref), at_most(1.3, "≤ 1.3x"), samples={"ours_s": ours, "reference_s": ref}),
    ]
