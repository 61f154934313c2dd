"""Memory and CPU limits, pause and resume, and finding every process of a cage.

Preferred: cgroups.  With cgroup v1 a cage gets one directory per controller (memory, cpu,
cpuacct, freezer, pids) named ``caged-<data-dir hash>/<sandbox id>`` below the server's own
cgroup in that hierarchy, so the platform's own limits still apply to its cages.  With a
delegated cgroup v2 hierarchy it gets one directory with ``memory.max``/``cpu.max``.  The cage
joins them *before* any of its processes runs: the spawn goes through a one-line ``sh``
trampoline that writes its own pid to every ``cgroup.procs`` and then execs bwrap (a
``preexec_fn`` would run Python in a forked child of a threaded server, which can deadlock).

Fallback: ``RLIMIT_DATA`` (not ``RLIMIT_AS``, which breaks runtimes that reserve large virtual
ranges) and CPU affinity, applied by the agent to itself before it starts anything; pause then
uses SIGSTOP/SIGCONT on every process.  Whatever is in force is reported as a mechanism string.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "freezer", "pids")
PIDS_MAX = 4096  # a fork bomb stops here instead of taking the host down
CFS_PERIOD_US = 100_000

# Shell trampoline: join every cgroup given before "--", then exec the real command.
_TRAMPOLINE = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; exec "$@"'


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as fh:
        fh.write(value)


def _mounts() -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None]:
    """cgroup v1 controller -> (mount point, mount root), and the v2 (mount point, root)."""
    v1: dict[str, tuple[str, str]] = {}
    v2: tuple[str, str] | None = None
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return v1, None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        after = right.split()
        if len(fields) < 5 or len(after) < 3:
            continue
        root, mount_point, fstype = fields[3], fields[4], after[0]
        if fstype == "cgroup":
            for opt in after[2].split(","):
                if opt in V1_CONTROLLERS:
                    v1.setdefault(opt, (mount_point, root))
        elif fstype == "cgroup2" and v2 is None:
            v2 = (mount_point, root)
    return v1, v2


def _own_cgroups() -> dict[str, str]:
    """Controller (``""`` for v2) -> this process's cgroup path."""
    own: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                own[name] = path
    return own


def _under(mount: tuple[str, str], own_path: str) -> Path:
    mount_point, root = mount
    if root != "/" and own_path.startswith(root):
        own_path = own_path[len(root) :]
    return Path(mount_point + own_path)


@dataclass(slots=True)
class Cgroups:
    """The cgroup directories of one cage (empty when cgroups are not in use)."""

    version: int = 0
    dirs: dict[str, str] = field(default_factory=dict)  # controller ("" for v2) -> directory

    def to_json(self) -> dict[str, Any]:
        """The form stored in ``cage.json``."""
        return {"version": self.version, "dirs": dict(self.dirs)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Cgroups:
        """Inverse of :meth:`to_json` (empty when cgroups were not used)."""
        if not data:
            return cls()
        return cls(int(data.get("version", 0)), {str(k): str(v) for k, v in data["dirs"].items()})

    @property
    def active(self) -> bool:
        """Are any cgroups in use?"""
        return bool(self.dirs)

    def has(self, controller: str) -> bool:
        """Is ``controller`` (e.g. ``memory``) in force?"""
        return controller in self.dirs or (self.version == 2 and "" in self.dirs)

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a new cage process must join."""
        return [os.path.join(d, "cgroup.procs") for d in sorted(set(self.dirs.values()))]

    def trampoline(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped so the process joins the cgroups before exec'ing."""
        if not self.active:
            return argv
        return ["/bin/sh", "-c", _TRAMPOLINE, "caged-cgroup", *self.procs_files(), "--", *argv]

    def pids(self) -> set[int]:
        """Every task in the cage's cgroups."""
        found: set[int] = set()
        for procs in self.procs_files():
            with contextlib.suppress(OSError):
                found.update(int(p) for p in Path(procs).read_text().split())
        return found

    def freeze(self) -> bool:
        """Freeze every task; False when there is no freezer."""
        if self.version == 1 and "freezer" in self.dirs:
            state = Path(self.dirs["freezer"], "freezer.state")
            _write(state, "FROZEN")
            deadline = time.monotonic() + 5.0
            while state.read_text().strip() != "FROZEN" and time.monotonic() < deadline:
                time.sleep(0.005)  # FREEZING: tasks are still being stopped
            return True
        if self.version == 2 and "" in self.dirs:
            _write(Path(self.dirs[""], "cgroup.freeze"), "1")
            return True
        return False

    def thaw(self) -> bool:
        """Thaw the cgroup; False when there is no freezer."""
        if self.version == 1 and "freezer" in self.dirs:
            _write(Path(self.dirs["freezer"], "freezer.state"), "THAWED")
            return True
        if self.version == 2 and "" in self.dirs:
            _write(Path(self.dirs[""], "cgroup.freeze"), "0")
            return True
        return False

    def usage(self) -> tuple[float, int] | None:
        """(CPU seconds, memory bytes) accounted by the cgroups, when both are available."""
        with contextlib.suppress(OSError, ValueError, KeyError):
            if self.version == 1:
                cpu = int(Path(self.dirs["cpuacct"], "cpuacct.usage").read_text()) / 1e9
                mem = int(Path(self.dirs["memory"], "memory.usage_in_bytes").read_text())
                return cpu, mem
            if self.version == 2:
                stat = Path(self.dirs[""], "cpu.stat").read_text().split()
                cpu = int(stat[stat.index("usage_usec") + 1]) / 1e6
                mem = int(Path(self.dirs[""], "memory.current").read_text())
                return cpu, mem
        return None

    def remove(self) -> bool:
        """Remove the directories (they must be empty of tasks); True when all are gone."""
        ok = True
        for directory in sorted(set(self.dirs.values())):
            try:
                os.rmdir(directory)
            except FileNotFoundError:
                pass
            except OSError:
                ok = False
                continue
            # The per-data-dir parent goes too once its last cage is gone.
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(directory))
        return ok


@dataclass(frozen=True, slots=True)
class LimitPlan:
    """What a cage gets: cgroups, and/or the rlimit/affinity values the agent applies."""

    cgroups: Cgroups
    rlimit_data: int | None
    cpus: int | None
    mechanism: str

    def trampoline(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped so the process joins the cgroups before exec'ing."""
        return self.cgroups.trampoline(argv)


def _setup_v1(group: str, memory_bytes: int, cpus: int) -> Cgroups:
    mounts, _ = _mounts()
    own = _own_cgroups()
    dirs: dict[str, str] = {}
    for controller in V1_CONTROLLERS:
        mount = mounts.get(controller)
        if mount is None:
            continue
        directory = _under(mount, own.get(controller, "/")) / group
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if controller == "memory":
                memsw = directory / "memory.memsw.limit_in_bytes"
                swap = memsw.exists()
                if swap:
                    # Same value: the cage cannot dodge its limit by swapping.  It may never be
                    # below the memory limit, so it goes first when a limit is raised (a spare
                    # cage's, on its claim) and second when one is lowered.
                    with contextlib.suppress(OSError):
                        _write(memsw, str(memory_bytes))
                _write(directory / "memory.limit_in_bytes", str(memory_bytes))
                if swap:
                    with contextlib.suppress(OSError):
                        _write(memsw, str(memory_bytes))
            elif controller == "cpu":
                _write(directory / "cpu.cfs_period_us", str(CFS_PERIOD_US))
                _write(directory / "cpu.cfs_quota_us", str(cpus * CFS_PERIOD_US))
            elif controller == "pids":
                _write(directory / "pids.max", str(PIDS_MAX))
            elif controller == "freezer":
                _write(directory / "freezer.state", "THAWED")
        except OSError:
            with contextlib.suppress(OSError):
                directory.rmdir()
            continue
        dirs[controller] = str(directory)
    return Cgroups(1, dirs) if dirs else Cgroups()


def _setup_v2(group: str, memory_bytes: int, cpus: int) -> Cgroups:
    _, mount = _mounts()
    own = _own_cgroups()
    if mount is None or "" not in own:
        return Cgroups()
    base = _under(mount, own[""])
    try:
        controllers = (base / "cgroup.controllers").read_text().split()
    except OSError:
        return Cgroups()
    if not {"memory", "cpu"} <= set(controllers):
        return Cgroups()
    parent_name, _, leaf = group.partition("/")
    parent = base / parent_name
    directory = parent / leaf
    try:
        # Enabling controllers for children needs a cgroup without member processes: only the
        # new per-data-dir parent qualifies, and the server's own cgroup must delegate to it.
        _write(base / "cgroup.subtree_control", "+memory +cpu")
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", "+memory +cpu")
        directory.mkdir(exist_ok=True)
        _write(directory / "memory.max", str(memory_bytes))
        with contextlib.suppress(OSError):
            _write(directory / "memory.swap.max", "0")
        _write(directory / "cpu.max", f"{cpus * CFS_PERIOD_US} {CFS_PERIOD_US}")
    except OSError:
        with contextlib.suppress(OSError):
            directory.rmdir()
        return Cgroups()
    return Cgroups(2, {"": str(directory)})


def plan_limits(group: str, *, memory_mb: int, cpus: int, allow_cgroups: bool = True) -> LimitPlan:
    """Create (or reuse) the cage's cgroups and say what else the agent must apply.

    ``group`` is ``caged-<hash>/<sandbox id>``.  Blocking: call it off the event loop.
    """
    memory_bytes = memory_mb * 1024 * 1024
    cgroups = Cgroups()
    if allow_cgroups:
        cgroups = _setup_v1(group, memory_bytes, cpus)
        if not (cgroups.has("memory") and cgroups.has("cpu")):
            fallback = _setup_v2(group, memory_bytes, cpus)
            if fallback.active:
                cgroups.remove()
                cgroups = fallback
    parts: list[str] = []
    if cgroups.version == 2:
        parts.append("cgroup-v2 (memory, cpu, freeze)")
    elif cgroups.active:
        parts.append(f"cgroup-v1 ({', '.join(c for c in V1_CONTROLLERS if c in cgroups.dirs)})")
    rlimit = None if cgroups.has("memory") else memory_bytes
    affinity = None if cgroups.has("cpu") else cpus
    if rlimit is not None:
        parts.append("rlimit-data")
    if affinity is not None:
        parts.append("cpu-affinity")
    if not (cgroups.has("freezer") or cgroups.version == 2):
        parts.append("sigstop-pause")
    return LimitPlan(cgroups, rlimit, affinity, " + ".join(parts))


def signal_all(pids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each pid, ignoring the ones already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def kill_and_verify(
    find_pids: Callable[[], set[int]], cgroups: Cgroups, timeout: float = 5.0
) -> set[int]:
    """SIGKILL every pid ``find_pids()`` returns until none is left; returns survivors.

    Frozen tasks only die once thawed, so the cgroup is thawed after each round of kills.
    """
    deadline = time.monotonic() + timeout
    while True:
        pids = find_pids()
        if not pids:
            return set()
        if time.monotonic() > deadline:
            return pids
        signal_all(pids, signal.SIGKILL)
        with contextlib.suppress(OSError):
            cgroups.thaw()
        signal_all(pids, signal.SIGCONT)
        time.sleep(0.01)
