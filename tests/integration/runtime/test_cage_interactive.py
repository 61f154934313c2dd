"""Terminals and file watching."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from eventually import TIMEOUT, eventually_async
from runtime_helpers import StartCage

from caged_platform.runtime.api import FileChange, PtyChannel
from caged_platform.runtime.manager import LocalRuntime

pytestmark = pytest.mark.integration


async def read_until(pty: PtyChannel, needle: bytes, within: float = 10.0) -> bytes:
    """Output up to and including ``needle`` (fails the test when it never comes)."""
    seen = b""
    try:
        async with asyncio.timeout(within):
            while needle not in seen:
                chunk = await pty.read()
                if not chunk:
                    raise AssertionError(f"shell ended before {needle!r}; got {seen[-300:]!r}")
                seen += chunk
    except TimeoutError:
        raise AssertionError(f"no {needle!r} within {within:g} s; got {seen[-300:]!r}") from None
    return seen


async def watching(runtime: LocalRuntime, sid: str, seen: Callable[[str], bool]) -> None:
    """Wait until the cage's file watch reports changes (it is armed asynchronously, and a
    file made before that is never reported): make a fresh probe file on each poll until
    ``seen`` says one arrived."""
    made: list[str] = []

    async def probe_seen() -> bool:
        made.append(f"/workspace/.probe-{len(made)}")
        await runtime.exec(sid, f": > .probe-{len(made) - 1}")
        return any(seen(path) for path in made)

    await eventually_async(probe_seen, what="the file watch to be armed", interval=0.2)


async def test_pty_echoes_resizes_and_reports_exit(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    pty = await runtime.open_pty(sid, rows=30, cols=90)
    try:
        await pty.write(b"echo mark-$((40 + 2)); stty size; tty\n")
        # One read for both: output arriving in one chunk must not be half consumed.
        out = await read_until(pty, b"/dev/pts/")
        assert b"mark-42" in out
        assert b"30 90" in out

        await pty.resize(40, 100)
        await pty.write(b"stty size\n")
        assert b"40 100" in await read_until(pty, b"40 100")

        # Job control works (the PTY is the shell's controlling terminal): ^C interrupts.
        await pty.write(b"sleep 30\n")

        async def sleeping() -> bool:
            ps = await runtime.exec(sid, "ps -eo args= | grep -c '^[s]leep 30' || true")
            return ps.output.strip() == "1"

        await eventually_async(sleeping, what="sleep 30 to run in the terminal")
        await pty.write(b"\x03")
        await read_until(pty, b"^C")  # the line discipline turned it into SIGINT
        await pty.write(b"echo after-$((1))-interrupt\n")
        await read_until(pty, b"after-1-interrupt\r\n")  # not 30 s later: sleep was killed

        await pty.write(b"exit 3\n")
        async with asyncio.timeout(TIMEOUT):
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

    await eventually_async(gone)


async def test_pty_output_is_flow_controlled(runtime: LocalRuntime, start_cage: StartCage) -> None:
    """A consumer that stops reading stops the shell's producer (no unbounded buffering)."""
    sid = await start_cage(network_mode="none")
    pty = await runtime.open_pty(sid)
    try:
        await pty.write(b"yes flood\n")
        await read_until(pty, b"flood")

        # Not reading: the agent must stop reading the PTY, so ``yes`` blocks writing to a
        # full terminal and the cage goes idle (without flow control it never would).
        async def idle() -> bool:
            before = (await runtime.stats(sid)).cpu_seconds
            await asyncio.sleep(0.5)  # the window the CPU use is sampled over
            return (await runtime.stats(sid)).cpu_seconds - before < 0.05

        await eventually_async(idle, what="the producer to block on a full terminal")
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
        await watching(runtime, sid, lambda path: any(c.path == path for c in changes))
        await runtime.exec(
            sid,
            "mkdir -p src/deep && echo hi > src/deep/new.txt && echo more >> notes.md"
            " && mv notes.md renamed.md && rm renamed.md",
        )

        async def created() -> bool:
            return any(c.path == "/workspace/src/deep/new.txt" for c in changes)

        await eventually_async(created)
        # With what it changed, as the agent inside the cage saw it (issue 15).
        diff = "--- /dev/null\n+++ b/workspace/src/deep/new.txt\n@@ -0,0 +1 @@\n+hi\n"
        assert FileChange("/workspace/src/deep/new.txt", "created", facts={"diff": diff}) in changes
        assert FileChange("/workspace/src", "created") in changes
        # notes.md was created, renamed and removed within one debounce window: no noise.
        assert not any("notes.md" in c.path or "renamed.md" in c.path for c in changes)

        await runtime.exec(sid, "mv src/deep/new.txt src/final.txt")
        moved = FileChange("/workspace/src/deep/new.txt", "moved", "/workspace/src/final.txt")

        async def was_moved() -> bool:
            return moved in changes

        await eventually_async(was_moved)
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
        await watching(runtime, sid, paths.__contains__)
        await runtime.exec(
            sid,
            "mkdir storm && cd storm && i=0; while [ $i -lt 400 ]; do"
            f" i=$((i+1)); : > {'long-name-' * 20}$i; done",
        )

        async def complete() -> bool:
            return len({p for p in paths if p.startswith("/workspace/storm/")}) == 400

        await eventually_async(complete)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await watch.aclose()  # type: ignore[attr-defined]
