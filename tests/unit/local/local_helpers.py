"""Helpers shared by the content modules' unit tests (imported by module name, as pytest puts
this directory on sys.path)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from caged_platform.content.cage_git import ExecFn
from caged_platform.runtime.api import ExecOutcome


def shell_in(workspace: Path, env: dict[str, str] | None = None) -> ExecFn:
    """A real exec_fn: ``sh -c`` in the workspace, output interleaved like the runtime's.

    ``env`` is added to this process's environment (the runtime's exec does the same
    with the cage's); a timeout or a cancellation kills the command's process group.
    The commands are the tests' own, on directories they made.
    """

    async def run(command: str, seconds: float) -> ExecOutcome:
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            cwd=workspace,
            env={**os.environ, **(env or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), seconds)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            elapsed = (time.monotonic() - started) * 1000
            return ExecOutcome(output="", exit_code=None, duration_ms=elapsed, timed_out=True)
        except asyncio.CancelledError:
            # As the runtime does when its caller goes away: the command's group is killed.
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise
        elapsed = (time.monotonic() - started) * 1000
        return ExecOutcome(output.decode(errors="replace"), process.returncode, elapsed)

    return run
