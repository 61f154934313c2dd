"""Helpers shared by the sandbox runtime tests (imported by module name, as pytest puts this
directory on sys.path)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from caged_platform.runtime.api import CageError
from caged_platform.runtime.isolation import bwrap_problem
from caged_platform.runtime.manager import LocalRuntime

F = TypeVar("F", bound=Callable[..., Any])

# CAGED_RUNTIME_TEST_ISOLATION=none runs the suite as on a host without bubblewrap.
ISOLATION = os.environ.get("CAGED_RUNTIME_TEST_ISOLATION", "auto")
BWRAP_PROBLEM = (
    "disabled by CAGED_RUNTIME_TEST_ISOLATION=none" if ISOLATION == "none" else bwrap_problem()
)
SKIP_WITHOUT_BWRAP = pytest.mark.skipif(
    BWRAP_PROBLEM is not None, reason=f"needs working bubblewrap: {BWRAP_PROBLEM}"
)


def needs_bwrap(test: F) -> F:
    """Mark a test as needing isolation: tagged ``needs_bwrap``, skipped (with the reason)
    where bubblewrap does not work."""
    return pytest.mark.needs_bwrap(SKIP_WITHOUT_BWRAP(test))  # type: ignore[no-any-return]


StartCage = Callable[..., Awaitable[str]]


async def destroy_all(rt: LocalRuntime) -> None:
    """Destroy every cage under the runtime's data dir (even ones started by other runtimes)."""
    for sandbox_id in rt.sandbox_ids():
        with contextlib.suppress(CageError):
            await rt.destroy(sandbox_id)
    await rt.aclose()


def processes_of(ns_inode: int | None, cgroup_marker: str) -> set[int]:
    """Host pids in the PID namespace ``ns_inode`` or in a cgroup path containing the marker."""
    found: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if ns_inode is not None and os.readlink(f"/proc/{pid}/ns/pid") == f"pid:[{ns_inode}]":
                found.add(pid)
                continue
            if cgroup_marker in Path(f"/proc/{pid}/cgroup").read_text():
                found.add(pid)
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Is ``pid`` a running (not zombie) process?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"
