"""The in-cage agent gives the processes it spawns the default signal dispositions.

A platform started in the background without job control ignores SIGINT and SIGQUIT; the
agent inherits that, and without the reset a cage's shell could never be stopped with ctrl+c
or ctrl+\\ from a terminal.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from caged_platform.runtime.agent import Reaper


@pytest.fixture
def ignoring_interrupts() -> Iterator[None]:
    saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGQUIT)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _ignored_signals(reaper: Reaper) -> set[int]:
    read_end, write_end = os.pipe()
    try:
        pid = reaper.spawn(
            "/bin/sh",
            ["sh", "-c", "grep '^SigIgn:' /proc/self/status"],
            dict(os.environ),
            file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1)],
        )
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as output:
        line = output.read().decode()
    os.waitpid(pid, 0)
    mask = int(line.split(":", 1)[1], 16)
    return {sig for sig in range(1, 64) if mask & (1 << (sig - 1))}


def test_children_get_interrupt_and_quit_back_at_their_defaults(ignoring_interrupts: None) -> None:
    ignored = _ignored_signals(Reaper())

    assert signal.SIGINT not in ignored
    assert signal.SIGQUIT not in ignored
