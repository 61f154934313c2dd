"""Host-side views of a cage's processes, read from the host's /proc.

A cage's processes are found three ways, whichever apply: its cgroups' task lists, its PID
namespace (every process whose ``/proc/<pid>/ns/pid`` is the cage's), and the process tree
below its init.  Pids are only trusted together with their start time, so a pid reused after
the cage died is never mistaken for the cage.
"""

from __future__ import annotations

import contextlib
import os
import select

from .agent import all_pids, descendants


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None: gone or a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def is_same_process(pid: int, started: int | None) -> bool:
    """Is ``pid`` still the process that had start time ``started``?"""
    return pid > 0 and started is not None and start_time(pid) == started


def pid_namespace(pid: int) -> int | None:
    """Inode of the PID namespace ``pid`` lives in."""
    try:
        link = os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None
    return int(link[link.index("[") + 1 : -1])


def pids_in_namespace(inode: int) -> set[int]:
    """Processes whose PID namespace has inode ``inode``."""
    found: set[int] = set()
    target = f"pid:[{inode}]"
    for pid in all_pids():
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/ns/pid") == target:
                found.add(pid)
    return found


def pids_with_env(name: str, value: str) -> set[int]:
    """Processes whose environment carries ``name=value`` (the tag of an unisolated cage)."""
    needle = f"{name}={value}".encode()
    found: set[int] = set()
    for pid in all_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.add(pid)
        except OSError:
            continue
    return found


def tree(pid: int) -> set[int]:
    """``pid`` and its descendants."""
    return descendants(pid)


def live(pids: set[int]) -> set[int]:
    """Drop zombies, vanished pids and this process."""
    me = os.getpid()
    return {p for p in pids if p != me and start_time(p) is not None}


def wait_readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` becomes readable (or hung up) within ``timeout`` seconds.  poll(2), not
    select(2): a server with many connections has descriptors past select's 1024 limit."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    return bool(poller.poll(max(0, int(timeout * 1000))))
