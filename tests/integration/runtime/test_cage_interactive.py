"""Terminals and file watching."""

from __future__ import annotations

import asyncio
import time

import pytest
from runtime_helpers import StartCage, eventually

from caged_platform.runtime.api import FileChange, PtyChannel
from caged_platform.runtime.manager import LocalRuntime

pytestmark = pytest.mark.integration


async def read_until(pty: PtyChannel, needle: bytes, within: float = 10.0) -> bytes:
    """Output up to and including ``needle`` (fails the test when it never comes)."""
    seen = b""
    async with asyncio.timeout(within):
        while needle not in seen:
            chunk = await pty.read()
            if not chunk:
                raise AssertionError(f"shell ended before {needle!r}; got {seen[-300:]!r}")
            seen += chunk
    return seen


async def test_pty_echoes_resizes_and_reports_exit(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    pty = await runtime.open_pty(sid, rows=30, cols=90)
    try:
        await pty.write(b"echo mark-$((40 + 2)); stty size; tty\n")
        out = await read_until(pty, b"mark-42")
        out += await read_until(pty, b"/dev/pts/")
        assert b"30 90" in out

        await pty.resize(40, 100)
        await pty.write(b"stty size\n")
        assert b"40 100" in await read_until(pty, b"40 100")

        # Job control works (the PTY is the shell's controlling terminal): ^C interrupts.
        await pty.write(b"sleep 30\n")
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await pty.write(b"\x03")
        await read_until(pty, b"^C")  # the line discipline turned it into SIGINT
        await pty.write(b"echo after-$((1))-interrupt\n")
        await read_until(pty, b"after-1-interrupt\r\n")
        assert time.monotonic() - started < 5

        await pty.write(b"exit 3\n")
        async with asyncio.timeout(10):
            while await pty.read():
                pass
        assert pty.exit_status == 3
    finally:
        await pty.close()


async def test_pty_close_hangs_up_the_shell(runtime: LocalRuntime, start_cage: StartCage) -> None:
    sid = await start_cage(network_mode="none")
    pty = await runtime.open_pty(sid)
    await pty.write(b"echo $$ > shell.pid; echo re''ady\n")
    await read_until(pty, b"ready\r\n")  # quoted so the echoed command line does not match
    shell_pid = (runtime.workspace_dir(sid) / "shell.pid").read_text().strip()
    await pty.close()

    async def gone() -> bool:
        probe = await runtime.exec(sid, f"kill -0 {shell_pid} 2>/dev/null && echo alive")
        return probe.output == ""

    for _ in range(50):
        if await gone():
            break
        await asyncio.sleep(0.1)
    assert await gone()


async def test_pty_output_is_flow_controlled(runtime: LocalRuntime, start_cage: StartCage) -> None:
    """A consumer that stops reading stops the shell's producer (no unbounded buffering)."""
    sid = await start_cage(network_mode="none")
    pty = await runtime.open_pty(sid)
    try:
        await pty.write(b"yes flood\n")
        await read_until(pty, b"flood")
        await asyncio.sleep(0.5)  # not reading: the agent must stop reading the PTY
        # ``yes`` is now blocked writing to a full terminal, so the cage is idle.
        stats_a = await runtime.stats(sid)
        await asyncio.sleep(1.0)
        stats_b = await runtime.stats(sid)
        assert stats_b.cpu_seconds - stats_a.cpu_seconds < 0.3
        # Reading again resumes the stream.
        assert b"flood" in await read_until(pty, b"flood\r\nflood")
        await pty.write(b"\x03")
    finally:
        await pty.close()


async def test_watch_reports_a_file_created_by_a_command(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    changes: list[FileChange] = []
    watch = runtime.watch_files(sid)

    async def collect() -> None:
        async for change in watch:
            changes.append(change)

    task = asyncio.create_task(collect())
    try:
        await asyncio.sleep(0.3)  # let the agent set its watches
        await runtime.exec(
            sid, "mkdir -p src/deep && echo hi > src/deep/new.txt && echo more >> notes.md"
            " && mv notes.md renamed.md && rm renamed.md"
        )

        async def created() -> bool:
            return any(c.path == "/workspace/src/deep/new.txt" for c in changes)

        assert await eventually(created)
        assert FileChange("/workspace/src/deep/new.txt", "created") in changes
        assert FileChange("/workspace/src", "created") in changes
        # notes.md was created, renamed and removed within one debounce window: no noise.
        assert not any("notes.md" in c.path or "renamed.md" in c.path for c in changes)

        await runtime.exec(sid, "mv src/deep/new.txt src/final.txt")
        moved = FileChange("/workspace/src/deep/new.txt", "moved", "/workspace/src/final.txt")
        async def was_moved() -> bool:
            return moved in changes

        assert await eventually(was_moved)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await watch.aclose()  # type: ignore[attr-defined]


async def test_watch_delivers_a_storm_of_changes(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    """A batch bigger than one frame (64 KiB) arrives complete."""
    sid = await start_cage(network_mode="none")
    paths: set[str] = set()
    watch = runtime.watch_files(sid)

    async def collect() -> None:
        async for change in watch:
            if change.kind == "created":
                paths.add(change.path)

    task = asyncio.create_task(collect())
    try:
        await asyncio.sleep(0.3)
        await runtime.exec(
            sid,
            "mkdir storm && cd storm && i=0; while [ $i -lt 400 ]; do"
            f" i=$((i+1)); : > {'long-name-' * 20}$i; done",
        )

        async def complete() -> bool:
            return len({p for p in paths if p.startswith("/workspace/storm/")}) == 400

        assert await eventually(complete, within=15), len(paths)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await watch.aclose()  # type: ignore[attr-defined]
