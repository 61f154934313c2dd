"""``LocalRuntime``: cages as real processes under bubblewrap, driven through their agents.

Layout of a sandbox folder (under ``identity.sandboxes_root``: the data dir's ``sandboxes/``,
or ``/var/lib/caged/sandboxes/<hash>/`` for a root server, whose cage uids must reach it)::

    <id>/workspace/   the cage's /workspace (kept by stop, removed by destroy; the cage's uid)
    <id>/home/        the cage's /root (its own persistent home; the cage's uid)
    <id>/run/         the cage's /.caged/run, read-only inside: agent.py, agent.sock,
                      proxy.sock (allowlist), and its hosts, hostname and resolv.conf
    <id>/uid          the host uid claimed for the cage (``identity``)
    <id>/cage.json    how the cage was started and where its processes are, so a
                      restarted server can find and attach to it
    <id>/agent.log    bwrap's, the agent's and slirp4netns's stderr
    <id>/spare        present while the cage is a spare, not yet any sandbox's

Cages are started in a session of their own and without ``--die-with-parent``: they outlive
the server.  All blocking work runs in threads; the event loop only waits.

Spare cages: once a template has been created from, :data:`SPARES_PER_TEMPLATE` cages of it
are kept started, each under the id (so the folder, uid, hostname and cgroups) of the sandbox
it will become.  ``take_spare`` hands one's id to a create and ``start`` claims it: the
sandbox's limits go into its cgroups, its network is set (slirp4netns is kept for ``full``,
stopped for the others) and the agent gets the sandbox's config and environment before it
runs anything.  Spares die with ``aclose``; a server that died leaves them to the next one,
which removes them as it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import importlib.util
import json
import logging
import os
import py_compile
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import agent as agent_module
from . import identity, network, procs, templates
from . import isolation as cagefs
from .api import (
    CageError,
    CageInfo,
    CageNotFound,
    CagePaused,
    CageSpec,
    CageStats,
    ExecOutcome,
    FileChange,
    PtyChannel,
    Runtime,
    TemplateEntry,
    new_sandbox_id,
)
from .channel import PTY_STREAM_LIMIT, AgentLink, AgentPty, read_frame
from .limits import Cgroups, LimitPlan, kill_and_verify, plan_limits, signal_all
from .netproxy import AllowlistProxy
from .preview import PortForwarder

log = logging.getLogger(__name__)

_SANDBOX_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; longer paths go through /proc/self/fd
START_TIMEOUT_S = 10.0
_STOPPED_ON_UPGRADE = (
    "stopped on upgrade: it ran as host root under an older version of the platform; its "
    "files are kept, start a new sandbox from a snapshot of it"
)
TAG_ENV = "CAGED_CAGE"
# In a spare cage's folder until it is claimed (a restarted server removes such folders).
SPARE_MARK = "spare"
# Spare cages kept warm per template created from: a cage takes longer to start (~40 ms)
# than a create takes with a spare, so back-to-back creates would drain a single one.
SPARES_PER_TEMPLATE = 2
# Imported rather than run as a script so its bytecode cache is used.
_AGENT_BOOT = "import sys; sys.path.insert(0, {!r}); import agent; sys.exit(agent.main(sys.argv))"
#: What the agent may say about a file change (see ``agent.ContentMemory``).
_CHANGE_FACTS = frozenset({"diff", "size_before", "size_after", "sha256_before", "sha256_after"})


@dataclass(slots=True)
class CageState:
    """What ``cage.json`` records about a started cage."""

    sandbox_id: str
    network_mode: str
    allowlist: list[str]
    isolation: str
    limits: str
    network: str
    pid: int  # host pid of the cage's init (bwrap's PID 1) or, unisolated, of the agent
    pid_start: int | None
    pid_ns: int | None
    cgroups: dict[str, Any]
    tag: str
    running: bool = True
    paused: bool = False
    started_at: float = field(default_factory=time.time)
    template: str = ""
    uid: int | None = None  # host uid of the cage's processes; None: an older, root cage
    ip: str | None = None
    slirp_pid: int | None = None
    slirp_start: int | None = None

    @classmethod
    def load(cls, path: Path) -> CageState | None:
        """Read ``cage.json`` (None when absent or unreadable; unknown keys are ignored)."""
        try:
            data = json.loads(path.read_text())
            known = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None

    @property
    def legacy(self) -> bool:
        """Started by a version that ran isolated cages as host root (no uid recorded)."""
        return self.isolation == "bwrap" and self.uid is None

    def save(self, path: Path) -> None:
        """Write ``cage.json`` atomically (write + rename)."""
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    def info(self) -> CageInfo:
        """The :class:`CageInfo` reported to the server."""
        if self.isolation == "none":
            user = f"host uid {os.getuid()} (no user namespace: NOT isolated)"
        else:
            user = f"host uid {self.uid}, root inside (user namespace)"
        return CageInfo(
            self.pid,
            self.isolation,
            self.limits,
            self.network,
            user=user,
            ip=self.ip,
            template=self.template,
        )


@dataclass(frozen=True, slots=True)
class Spare:
    """A warm cage started ahead of its sandbox: its id is the next sandbox's."""

    sandbox_id: str
    task: asyncio.Task[_Cage]  # the cage once its agent answers


@dataclass(slots=True)
class _Cage:
    """A running cage as this server process knows it."""

    state: CageState
    link: AgentLink
    process: subprocess.Popen[bytes] | None = None
    network: subprocess.Popen[bytes] | None = None  # slirp4netns, started by this server
    proxy: AllowlistProxy | None = None
    previews: dict[int, PortForwarder] = field(default_factory=dict)
    dir_fd: int | None = None


class LocalRuntime:
    """The :class:`~.api.Runtime` of the local platform (one per data dir).

    ``isolation``: ``"auto"`` (bwrap when it works) or ``"none"`` (never isolate — reported
    as such).  ``cgroups``: False forces the rlimit/affinity fallback.
    """

    def __init__(self, data_dir: Path, *, isolation: str = "auto", cgroups: bool = True) -> None:
        # Absolute: bwrap resolves bind sources against the cage's working directory.
        self.data_dir = Path(data_dir).resolve()
        self._want_isolation = isolation
        # Probed once per process (a ~10 ms bwrap run), here rather than on the event loop.
        self._bwrap = None if isolation == "none" else cagefs.bwrap_path()
        if self._bwrap is None:
            log.warning(
                "sandboxes under %s will run WITHOUT isolation: %s",
                self.data_dir,
                self.isolation_problem(),
            )
        self._use_cgroups = cgroups
        self._stop_reasons: dict[str, str] = {}
        if self._bwrap is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._root = identity.sandboxes_root(self.data_dir)
            self._migrate_legacy()
            self._prune_orphans()
        else:
            self._root = self.data_dir / "sandboxes"
        self._root.mkdir(parents=True, exist_ok=True)
        if self._bwrap is not None:
            self._remove_stale_spares()
        self._cages: dict[str, _Cage] = {}
        # Warm spare cages: the one being kept per template, those taken for a sandbox that
        # has not started yet, and the templates worth keeping one of (created from).
        self._spares: dict[str, list[Spare]] = {}
        self._taken: dict[str, Spare] = {}
        self._wanted: set[str] = set()
        self._discarding: set[asyncio.Task[None]] = set()
        self._closing = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._refused_callbacks: list[Callable[[str, str], None]] = []
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:8]
        self._group_prefix = f"caged-{digest}"

    # ------------------------------------------------------------------------------ paths

    @property
    def isolation(self) -> str:
        """``"bwrap"`` when cages are isolated, ``"none"`` otherwise."""
        if self._bwrap is None:
            return "none"
        return "bwrap"

    def check_template(self, name: str) -> None:
        """Raise :class:`CageError` unless ``name`` is a template offered here."""
        templates.lookup(name)

    async def prepare_template(self, name: str, progress: Callable[[str], Awaitable[None]]) -> None:
        """Build ``name``'s image unless built (only isolated cages use images)."""
        template = templates.lookup(name)
        if self._bwrap is None or templates.is_built(template):
            return
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def say(line: str) -> None:
            log.info("template %s: %s", name, line)  # serve's log, besides the sandbox's
            loop.call_soon_threadsafe(lines.put_nowait, line)

        async def build() -> None:
            try:
                await asyncio.to_thread(templates.ensure_built, template, say)
            finally:
                await lines.put(None)

        task = asyncio.create_task(build())
        while (line := await lines.get()) is not None:
            await progress(line)
        await task

    def template_catalogue(self) -> list[TemplateEntry]:
        """What ``GET /v1/templates`` answers."""
        return templates.catalogue()

    def stop_reason(self, sandbox_id: str) -> str | None:
        """Why the runtime stopped this cage by itself (an upgrade refusing a root cage)."""
        return self._stop_reasons.get(sandbox_id)

    def _prune_orphans(self) -> None:
        """Remove the sandbox folders of data dirs that were deleted (test platforms, mostly),
        killing whatever of their cages still runs: nothing could ever reach them again."""
        with identity.orphaned_sandbox_roots() as orphans:
            for orphan in orphans:
                log.info("removing the sandboxes of a deleted data dir (%s)", orphan)
                for sandbox_dir in orphan.iterdir():
                    state = CageState.load(sandbox_dir / "cage.json")
                    if state is not None and state.running:
                        self._kill(_Cage(state, AgentLink("")), sandbox_dir)
                identity.remove_tree(orphan)

    def _migrate_legacy(self) -> None:
        """Sandboxes of a version that kept them in the data dir and ran cages as host root:
        such cages are stopped (never reattached: they would keep running as root), and their
        folders move to the new root, where the next start gives their files to a cage uid."""
        old_root = self.data_dir / "sandboxes"
        if old_root == self._root or not old_root.is_dir():
            return
        for old in sorted(old_root.iterdir()):
            state = CageState.load(old / "cage.json")
            if state is not None and state.running:
                survivors = self._kill(_Cage(state, AgentLink("")), old)
                if survivors:
                    log.error("sandbox %s: processes survived SIGKILL: %s", old.name, survivors)
                state.running = state.paused = False
                state.save(old / "cage.json")
                self._stop_reasons[old.name] = _STOPPED_ON_UPGRADE
                log.warning("sandbox %s: %s", old.name, self._stop_reasons[old.name])
            target = self._root / old.name
            if not target.exists():
                shutil.move(str(old), str(target))
        with contextlib.suppress(OSError):
            old_root.rmdir()

    def isolation_problem(self) -> str | None:
        """Why cages are not isolated (None when they are) — for the loud warning."""
        if self._want_isolation == "none":
            return "isolation disabled by configuration"
        return cagefs.bwrap_problem()

    def sandbox_dir(self, sandbox_id: str) -> Path:
        """Host directory holding everything of one sandbox."""
        if not _SANDBOX_ID.match(sandbox_id):
            raise CageError(f"invalid sandbox id {sandbox_id!r}")
        return self._root / sandbox_id

    def sandbox_ids(self) -> list[str]:
        """Every sandbox with a folder under this data dir (running or not)."""
        if not self._root.is_dir():
            return []
        return sorted(
            p.name
            for p in self._root.iterdir()
            if p.is_dir() and _SANDBOX_ID.match(p.name) and not (p / SPARE_MARK).exists()
        )

    def workspace_dir(self, sandbox_id: str) -> Path:
        """Host path of the cage's ``/workspace``."""
        return self.sandbox_dir(sandbox_id) / "workspace"

    def _socket_path(self, cage_dir: Path, name: str, dir_fd: int | None) -> str:
        path = cage_dir / "run" / name
        if dir_fd is not None:
            return f"/proc/self/fd/{dir_fd}/{name}"
        return str(path)

    @staticmethod
    def _run_dir_fd(cage_dir: Path) -> int | None:
        """An O_PATH fd on the run dir when its socket paths would be too long for sun_path."""
        if len(str(cage_dir / "run" / "agent.sock")) < _SOCKET_PATH_MAX:
            return None
        return os.open(cage_dir / "run", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def _lock(self, sandbox_id: str) -> asyncio.Lock:
        return self._locks.setdefault(sandbox_id, asyncio.Lock())

    # ------------------------------------------------------------------------------ start

    async def start(self, spec: CageSpec) -> CageInfo:
        """Start the sandbox's cage and return once its agent answers: the spare cage
        :meth:`take_spare` reserved for it, made this sandbox's, or else a new one (bwrap +
        agent, detached)."""
        async with self._lock(spec.sandbox_id):
            cage: _Cage | None = None
            spare = self._taken.pop(spec.sandbox_id, None)
            if spare is not None:
                cage = await self._claim(spare, spec)
            if cage is None:
                if await self._attach_locked(spec.sandbox_id):
                    raise CageError(f"{spec.sandbox_id} is already running")
                cage = await self._launch(spec)
            self._cages[spec.sandbox_id] = cage
            if spec.template in self._wanted:
                self._replenish(spec.template)
            if cage.state.isolation == "none":
                log.warning(
                    "sandbox %s runs WITHOUT isolation (%s)",
                    spec.sandbox_id,
                    self.isolation_problem(),
                )
            return cage.state.info()

    async def _launch(self, spec: CageSpec, *, spare: bool = False) -> _Cage:
        """Spawn a cage for ``spec`` and wait for its agent; a ``spare`` one waits for its
        claim (:meth:`take_spare`).  Nothing is left running if this fails or is cancelled."""
        cage_dir = self.sandbox_dir(spec.sandbox_id)
        bwrap = self._bwrap
        image: Path | None = None
        if bwrap is not None:
            image = await asyncio.to_thread(templates.ensure_built, templates.lookup(spec.template))
        uid, dir_fd = await asyncio.to_thread(self._prepare_dirs, cage_dir, spec, spare)
        proxy: AllowlistProxy | None = None
        try:
            if spec.network_mode == "allowlist" and bwrap is not None:
                proxy = await self._start_proxy(spec, cage_dir, dir_fd, uid)
            spawn = asyncio.ensure_future(
                asyncio.to_thread(self._spawn, spec, cage_dir, dir_fd, bwrap, image, uid, spare)
            )
            try:
                state, process, info_fd = await asyncio.shield(spawn)
            except asyncio.CancelledError:
                # The spawn goes on in its thread: what it starts must not outlive this.
                with contextlib.suppress(Exception):
                    state, process, info_fd = await spawn
                    if info_fd is not None:
                        os.close(info_fd)
                    await self._abandon(_Cage(state, AgentLink(""), process), cage_dir)
                raise
            link = AgentLink(self._socket_path(cage_dir, "agent.sock", dir_fd))
            cage = _Cage(state, link, process, proxy=proxy, dir_fd=dir_fd)
            try:
                waits: list[Awaitable[object]] = [link.call("ping", answer_within=START_TIMEOUT_S)]
                if info_fd is not None:
                    waits.append(asyncio.to_thread(self._settle_cage, cage, info_fd))
                # Both run to their end (no half-set-up cage is killed under the other).
                for outcome in await asyncio.gather(*waits, return_exceptions=True):
                    if isinstance(outcome, BaseException):
                        raise outcome
                if info_fd is not None and state.network_mode == "full":
                    # Only now: slirp4netns brings the cage's loopback up, which bwrap must have
                    # configured first (it dies on the address already there), and the agent
                    # runs only once bwrap is done.
                    cage.network = await asyncio.to_thread(self._connect_network, state, cage_dir)
                await asyncio.to_thread(state.save, cage_dir / "cage.json")
            except BaseException as err:
                # Failed or cancelled half-way: no cage may be left running unrecorded.
                await self._abandon(cage, cage_dir)
                if not isinstance(err, CageError):
                    raise
                tail = await asyncio.to_thread(_tail, cage_dir / "agent.log")
                raise CageError(f"the cage's agent did not start: {err}; {tail}") from err
        except BaseException:
            if proxy is not None:
                await proxy.close()
            if dir_fd is not None:
                os.close(dir_fd)
            raise
        return cage

    async def _abandon(self, cage: _Cage, cage_dir: Path) -> None:
        """Kill a cage that never became (or stays) a running sandbox and record that."""
        link = cage.link
        link.close()
        await asyncio.to_thread(self._kill, cage)
        cage.state.running = False
        await asyncio.to_thread(cage.state.save, cage_dir / "cage.json")

    async def _start_proxy(
        self, spec: CageSpec, cage_dir: Path, dir_fd: int | None, uid: int
    ) -> AllowlistProxy:
        """The host side of an ``allowlist`` cage's network: its filtering proxy."""
        proxy = AllowlistProxy(spec.sandbox_id, spec.allowlist, self._network_refused)
        sock = Path(self._socket_path(cage_dir, "proxy.sock", dir_fd))
        await asyncio.to_thread(_unlink, sock)
        await proxy.start(str(sock))
        # The cage's uid connects to it; nobody else may.
        await asyncio.to_thread(_hand_socket_to, sock, uid)
        return proxy

    # ------------------------------------------------------------------------ spare cages

    def take_spare(self, template: str) -> str | None:
        """Reserve the warm spare cage of ``template`` for a new sandbox: the id to create the
        sandbox under (:meth:`start` makes the cage its own), or None when there is none yet
        (it is then started cold).  From now on a spare of ``template`` is kept ready."""
        if self._bwrap is None or self._closing:
            return None
        self._wanted.add(template)
        pool = self._spares.setdefault(template, [])
        for failed in [s for s in pool if _failed(s.task)]:
            pool.remove(failed)
            self._discard_later(failed)  # its folder; it killed what it had started
        if not pool:
            # The template's first create, or its spares failed: started cold, and spares
            # are started once it has.
            return None
        # One that is ready, else the one that started first.
        spare = next((s for s in pool if s.task.done()), pool[0])
        pool.remove(spare)
        self._taken[spare.sandbox_id] = spare
        self._replenish(template)
        return spare.sandbox_id

    def _replenish(self, template: str) -> None:
        """Start spares of ``template`` until :data:`SPARES_PER_TEMPLATE` are kept."""
        pool = self._spares.setdefault(template, [])
        while not self._closing and len(pool) < SPARES_PER_TEMPLATE:
            sandbox_id = new_sandbox_id()
            while (self._root / sandbox_id).exists():
                sandbox_id = new_sandbox_id()
            task = asyncio.create_task(
                self._launch(CageSpec(sandbox_id, template=template), spare=True),
                name=f"spare cage {sandbox_id}",
            )
            task.add_done_callback(_note_spare_failure)
            pool.append(Spare(sandbox_id, task))

    async def _claim(self, spare: Spare, spec: CageSpec) -> _Cage | None:
        """Make a spare cage ``spec``'s: its limits, network and environment are set before
        anything of the sandbox runs.  None when the spare failed (the caller starts a cage
        cold under the same id); a spare that cannot be claimed is killed first."""
        try:
            cage = await asyncio.shield(spare.task)
        except asyncio.CancelledError:
            # This sandbox's start was cancelled (it is being destroyed); the spare's own
            # start goes on and must not outlive it.
            self._discard_later(spare)
            raise
        except CageError as err:
            log.warning(
                "spare cage %s failed, starting %s cold: %s", spare.sandbox_id, spec.sandbox_id, err
            )
            return None
        cage_dir = self.sandbox_dir(spec.sandbox_id)
        try:
            plan = await asyncio.to_thread(self._adopt, cage, spec, cage_dir)
            state = cage.state
            if spec.network_mode == "allowlist":
                assert state.uid is not None
                cage.proxy = await self._start_proxy(spec, cage_dir, cage.dir_fd, state.uid)
            config = self._agent_config(spec, plan, isolated=True)
            config["env"] = self._cage_env(spec, isolated=True, home=cage_dir / "home")
            await cage.link.call("claim", config=config)
            state.started_at = time.time()
            await asyncio.to_thread(_settle_claim, state, cage_dir)
        except BaseException as err:
            await self._close_host_side(cage)
            await self._abandon(cage, cage_dir)
            if not isinstance(err, CageError | OSError):
                raise
            log.warning(
                "spare cage %s could not be claimed, starting it cold: %s", spec.sandbox_id, err
            )
            return None
        return cage

    def _adopt(self, cage: _Cage, spec: CageSpec, cage_dir: Path) -> LimitPlan:
        """The host-side half of a claim: the sandbox's limits in the spare's cgroups, and
        its network (a spare has a ``full`` one: slirp4netns is stopped for the others,
        which takes ``tap0`` away and leaves loopback only)."""
        state = cage.state
        if state.template != spec.template:  # its image was bound when it started
            raise CageError(f"the spare is a {state.template} cage, not {spec.template}")
        plan = plan_limits(
            f"{self._group_prefix}/{spec.sandbox_id}",
            memory_mb=spec.memory_mb,
            cpus=spec.cpus,
            allow_cgroups=self._use_cgroups,
        )
        if plan.cgroups != Cgroups.from_json(state.cgroups) or plan.mechanism != state.limits:
            raise CageError(f"the spare's limits could not be set ({plan.mechanism})")
        if spec.network_mode != "full":
            if cage.network is not None:
                cage.network.kill()
                cage.network.wait()
                cage.network = None
            state.ip = state.slirp_pid = state.slirp_start = None
            _write_network_files(cage_dir / "run", spec.sandbox_id, None)
            state.network = _network_text(spec, isolated=True)
        state.network_mode = spec.network_mode
        state.allowlist = list(spec.allowlist)
        return plan

    async def _discard_spare(self, spare: Spare) -> None:
        """Kill a spare cage and remove its folder, once it has finished starting (a start
        cut short could leave processes running; one that failed cleaned up after itself)."""
        task = spare.task
        await asyncio.wait({task})  # unlike gather, never cancels the start
        if not task.cancelled() and task.exception() is None:
            cage = task.result()
            await self._close_host_side(cage)
            survivors = await asyncio.to_thread(self._kill, cage)
            if survivors:
                # Its folder keeps the uid claimed, so no other sandbox gets that uid while
                # these run; the next server on the data dir tries again.
                log.error(
                    "spare cage %s: processes survived SIGKILL: %s",
                    spare.sandbox_id,
                    sorted(survivors),
                )
                return
        await asyncio.to_thread(identity.remove_tree, self.sandbox_dir(spare.sandbox_id))

    def _discard_later(self, spare: Spare) -> None:
        """:meth:`_discard_spare` in the background (:meth:`aclose` waits for it)."""
        task = asyncio.create_task(self._discard_spare(spare), name=f"discard {spare.sandbox_id}")
        self._discarding.add(task)
        task.add_done_callback(self._discarding.discard)

    def _remove_stale_spares(self) -> None:
        """Spare cages a server that died left behind: nothing can claim them any more."""
        for sandbox_dir in self._root.iterdir():
            if not (sandbox_dir / SPARE_MARK).exists():
                continue
            state = CageState.load(sandbox_dir / "cage.json")
            if state is not None and state.running:
                survivors = self._kill(_Cage(state, AgentLink("")), sandbox_dir)
                if survivors:
                    log.error(
                        "spare cage %s: processes survived SIGKILL: %s", sandbox_dir.name, survivors
                    )
                    continue
            identity.remove_tree(sandbox_dir)

    def _prepare_dirs(
        self, cage_dir: Path, spec: CageSpec, spare: bool = False
    ) -> tuple[int, int | None]:
        """Create the sandbox folder; returns the cage's host uid and the run dir's fd."""
        cage_dir.mkdir(exist_ok=True)  # in a root that names its data dir (never recreated)
        os.chmod(cage_dir, 0o711)  # the cage's uid passes through to its binds; no listing
        if spare:
            (cage_dir / SPARE_MARK).touch()  # first: a server dying now still finds it
        else:
            _unlink(cage_dir / SPARE_MARK)  # a spare that failed its claim is started cold
        uid = identity.cage_uid(cage_dir) if self._bwrap is not None else os.getuid()
        for sub in ("workspace", "home"):
            path = cage_dir / sub
            path.mkdir(exist_ok=True)
            if os.stat(path).st_uid != uid:
                # A new uid, or files of a version whose cages ran as root.
                identity.chown_tree(path, uid)
            os.chmod(path, 0o700)
        run = cage_dir / "run"
        run.mkdir(exist_ok=True)
        os.chmod(run, 0o755)
        # Each start gets the agent of this server version; a running cage keeps its own.
        source, bytecode = _agent_files()
        (run / "agent.py").write_bytes(source)
        if bytecode is not None:
            cache = Path(importlib.util.cache_from_source(str(run / "agent.py")))
            cache.parent.mkdir(exist_ok=True)
            cache.write_bytes(bytecode)
        address = network.address_for(uid) if spec.network_mode == "full" else None
        _write_network_files(run, spec.sandbox_id, address)
        return uid, self._run_dir_fd(cage_dir)

    def _connect_network(self, state: CageState, cage_dir: Path) -> subprocess.Popen[bytes] | None:
        """Give a ``full`` cage its own network (slirp4netns as the cage's uid, in its
        cgroups); records the address and slirp's pid, returns its process."""
        assert state.uid is not None
        problem = network.slirp_problem()
        if problem is not None:
            # Said in the sandbox's config and logs, never silent.
            state.network = f"own network namespace, loopback only: NO outbound access ({problem})"
            log.warning("sandbox %s: %s", state.sandbox_id, state.network)
            return None
        address = network.address_for(state.uid)
        prefix = Cgroups.from_json(state.cgroups).trampoline(cagefs.as_uid(state.uid))
        process = network.start_slirp(prefix, state.pid, address, cage_dir / "agent.log")
        state.ip = address.ip
        state.slirp_pid = process.pid
        state.slirp_start = procs.start_time(process.pid)
        state.network = (
            f"own network namespace, address {address.ip} (slirp4netns: outbound only, the "
            "host's loopback and other sandboxes unreachable)"
        )
        return process

    def _spawn(
        self,
        spec: CageSpec,
        cage_dir: Path,
        dir_fd: int | None,
        bwrap: str | None,
        image: Path | None,
        uid: int,
        spare: bool,
    ) -> tuple[CageState, subprocess.Popen[bytes], int | None]:
        """Launch the cage; returns its state, the launcher process and bwrap's info fd."""
        sid = spec.sandbox_id
        group = f"{self._group_prefix}/{sid}"
        plan = plan_limits(
            group, memory_mb=spec.memory_mb, cpus=spec.cpus, allow_cgroups=self._use_cgroups
        )
        isolated = bwrap is not None
        python = cagefs.agent_python(isolated)
        workspace = cage_dir / "workspace"
        home = cage_dir / "home"
        tag = f"{self._group_prefix}/{sid}"
        env = self._cage_env(spec, isolated=isolated, home=home)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        agent_sock = Path(self._socket_path(cage_dir, "agent.sock", dir_fd))
        _unlink(agent_sock)
        # The host creates the listening socket: the cage's run dir can then be read-only,
        # and connections made before the agent runs simply wait in the backlog.
        listener.bind(str(agent_sock))
        listener.listen(64)
        info_r, info_w = os.pipe()
        # A spare's agent gets its config with its claim.
        config = {"spare": True} if spare else self._agent_config(spec, plan, isolated)
        if bwrap is not None:
            assert image is not None
            agent_dir = cagefs.CAGE_RUN
            mounts = cagefs.CageMounts(image, workspace, home, cage_dir / "run")
            prefix = cagefs.bwrap_argv(
                bwrap, sandbox_id=sid, uid=uid, mounts=mounts, info_fd=info_w
            )
        else:
            agent_dir = str(cage_dir / "run")
            prefix = []
        argv = plan.trampoline(
            [
                *prefix,
                python.executable,
                "-I",
                "-S",
                "-c",
                _AGENT_BOOT.format(agent_dir),
                str(listener.fileno()),
                json.dumps(config),
            ]
        )
        try:
            with open(cage_dir / "agent.log", "ab") as log_file:
                process = subprocess.Popen(
                    argv,
                    env=env,
                    cwd=workspace,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    pass_fds=(listener.fileno(), info_w),
                    start_new_session=True,  # a SIGKILL of the server's group spares cages
                )
        except OSError:
            plan.cgroups.remove()
            raise
        finally:
            listener.close()
            os.close(info_w)
        state = CageState(
            sandbox_id=sid,
            network_mode=spec.network_mode,
            allowlist=list(spec.allowlist),
            isolation="bwrap" if isolated else "none",
            limits=plan.mechanism,
            network=_network_text(spec, isolated),
            pid=process.pid,
            pid_start=procs.start_time(process.pid),
            pid_ns=None,
            cgroups=plan.cgroups.to_json(),
            tag=tag,
            template=spec.template,
            uid=uid if isolated else None,
        )
        # Recorded at once, so a server dying right now still finds (and can stop) the cage.
        state.save(cage_dir / "cage.json")
        if not isolated:
            os.close(info_r)
            return state, process, None
        return state, process, info_r

    def _agent_config(self, spec: CageSpec, plan: LimitPlan, isolated: bool) -> dict[str, Any]:
        """The agent's config (see :func:`.agent.main`) for ``spec``'s cage."""
        config: dict[str, Any] = {
            "isolated": isolated,
            "display_root": cagefs.CAGE_WORKSPACE,
            "rlimit_data": plan.rlimit_data,
            "cpus": plan.cpus,
            "subreaper": not isolated,
            "workspace": (
                cagefs.CAGE_WORKSPACE if isolated else str(self.workspace_dir(spec.sandbox_id))
            ),
        }
        if isolated and spec.network_mode == "allowlist":
            config["proxy"] = {"port": cagefs.PROXY_PORT, "socket": f"{cagefs.CAGE_RUN}/proxy.sock"}
        return config

    def _cage_env(self, spec: CageSpec, *, isolated: bool, home: Path) -> dict[str, str]:
        return cagefs.cage_env(
            sandbox_id=spec.sandbox_id,
            network_mode=spec.network_mode,
            home=cagefs.CAGE_HOME if isolated else str(home),
            extra={**spec.env, TAG_ENV: f"{self._group_prefix}/{spec.sandbox_id}"},
        )

    def _settle_cage(self, cage: _Cage, info_fd: int) -> None:
        """Everything that needs only the cage's init (its pid, its namespaces), done while
        the agent is still starting: learn it, open low ports."""
        self._learn_init(cage.state, info_fd)
        network.open_low_ports(cage.state.pid)

    def _learn_init(self, state: CageState, info_fd: int) -> None:
        """Read bwrap's info (the host pid of the cage's init, its PID namespace) into
        ``state``; runs while the agent is starting, since neither waits for the other."""
        try:
            info = _read_bwrap_info(info_fd, START_TIMEOUT_S)
        finally:
            os.close(info_fd)
        if info is None or "child-pid" not in info:
            raise CageError("bwrap did not report the cage's init process")
        state.pid = int(info["child-pid"])
        state.pid_start = procs.start_time(state.pid)
        state.pid_ns = int(info["pid-namespace"]) if "pid-namespace" in info else None

    # ----------------------------------------------------------------------------- attach

    async def attach(self, sandbox_id: str) -> bool:
        """After a server restart: is this cage's agent alive? Reconnects (proxy included)."""
        async with self._lock(sandbox_id):
            return await self._attach_locked(sandbox_id)

    async def _attach_locked(self, sandbox_id: str) -> bool:
        cage = self._cages.get(sandbox_id)
        if cage is not None:
            if await self._responsive(cage):
                return True
            await self._forget(sandbox_id)
        cage_dir = self.sandbox_dir(sandbox_id)
        state = await asyncio.to_thread(CageState.load, cage_dir / "cage.json")
        if state is None or not state.running:
            return False
        if state.legacy:
            # Never reattach a cage that runs as host root: stop it, keep its files.
            await asyncio.to_thread(self._kill, _Cage(state, AgentLink("")))
            state.running = state.paused = False
            await asyncio.to_thread(state.save, cage_dir / "cage.json")
            self._stop_reasons[sandbox_id] = _STOPPED_ON_UPGRADE
            return False
        dir_fd = await asyncio.to_thread(self._run_dir_fd, cage_dir)
        cage = _Cage(
            state, AgentLink(self._socket_path(cage_dir, "agent.sock", dir_fd)), dir_fd=dir_fd
        )
        if not await self._responsive(cage):
            # Dead (or unreachable): clean up what is left and record it as stopped.
            await asyncio.to_thread(self._kill, cage)
            state.running = False
            state.paused = False
            await asyncio.to_thread(state.save, cage_dir / "cage.json")
            if dir_fd is not None:
                os.close(dir_fd)
            return False
        if state.network_mode == "allowlist" and state.isolation == "bwrap":
            cage.proxy = AllowlistProxy(sandbox_id, state.allowlist, self._network_refused)
            sock = Path(self._socket_path(cage_dir, "proxy.sock", dir_fd))
            await asyncio.to_thread(_unlink, sock)
            await cage.proxy.start(str(sock))
            if state.uid is not None:
                await asyncio.to_thread(_hand_socket_to, sock, state.uid)
        self._cages[sandbox_id] = cage
        return True

    async def _responsive(self, cage: _Cage) -> bool:
        """Is the cage alive?  Its init (or unisolated agent) process decides: under bwrap the
        cage ends when the agent does.  A ping that fails on a live cage (an overloaded host)
        is only logged — killing a live cage over a slow answer would lose user work."""
        state = cage.state
        if not procs.is_same_process(state.pid, state.pid_start):
            return False
        if state.paused:
            return True  # frozen agents cannot answer; the process is there
        try:
            await cage.link.call("ping", answer_within=START_TIMEOUT_S)
        except CageError as err:
            log.warning(
                "sandbox %s is alive but its agent did not answer: %s", state.sandbox_id, err
            )
        return True

    async def _running(self, sandbox_id: str, *, allow_paused: bool = False) -> _Cage:
        cage = self._cages.get(sandbox_id)
        if cage is None:
            async with self._lock(sandbox_id):
                if not await self._attach_locked(sandbox_id):
                    raise CageNotFound(f"{sandbox_id} is not running")
            cage = self._cages[sandbox_id]
        if cage.state.paused and not allow_paused:
            raise CagePaused(f"{sandbox_id} is paused")
        return cage

    # ------------------------------------------------------------------------ operations

    async def exec(
        self,
        sandbox_id: str,
        command: str,
        *,
        env: dict[str, str] | None = None,
        timeout: float = 300.0,  # noqa: ASYNC109 - the agent enforces it, not asyncio
    ) -> ExecOutcome:
        """``sh -c command`` in ``/workspace``; the process group is killed at ``timeout``."""
        cage = await self._running(sandbox_id)
        return await cage.link.exec(command, env=env, limit_s=timeout)

    async def open_pty(
        self,
        sandbox_id: str,
        *,
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
    ) -> PtyChannel:
        """A login shell on a PTY of ``rows`` x ``cols``."""
        cage = await self._running(sandbox_id)
        reader, writer, answer = await cage.link.open(
            "pty", limit=PTY_STREAM_LIMIT, rows=rows, cols=cols, env=env or {}
        )
        return AgentPty(reader, writer, int(answer.get("pid") or 0))

    async def listening_ports(self, sandbox_id: str) -> list[int]:
        """TCP ports the cage's processes listen on (inside its network namespace)."""
        cage = await self._running(sandbox_id, allow_paused=True)
        if cage.state.paused:
            return await asyncio.to_thread(self._host_ports, cage.state)
        answer = await cage.link.call("ports")
        return [int(p) for p in answer.get("ports", [])]

    async def stats(self, sandbox_id: str) -> CageStats:
        """CPU seconds and resident memory of all the cage's processes."""
        cage = await self._running(sandbox_id, allow_paused=True)
        if cage.state.paused:
            cpu, rss = await asyncio.to_thread(
                lambda: agent_module.proc_usage(self._cage_pids(cage.state))
            )
            return CageStats(cpu, rss)
        answer = await cage.link.call("stats")
        return CageStats(float(answer["cpu_seconds"]), int(answer["memory_bytes"]))

    async def pause(self, sandbox_id: str) -> None:
        """Freeze every process of the cage (freezer cgroup, else SIGSTOP)."""
        async with self._lock(sandbox_id):
            cage = await self._running_locked(sandbox_id)
            if cage.state.paused:
                return
            await asyncio.to_thread(self._freeze, cage.state)
            cage.state.paused = True
            await asyncio.to_thread(cage.state.save, self.sandbox_dir(sandbox_id) / "cage.json")

    async def resume(self, sandbox_id: str) -> None:
        """Thaw a paused cage."""
        async with self._lock(sandbox_id):
            cage = await self._running_locked(sandbox_id)
            if not cage.state.paused:
                return
            await asyncio.to_thread(self._thaw, cage.state)
            cage.state.paused = False
            await asyncio.to_thread(cage.state.save, self.sandbox_dir(sandbox_id) / "cage.json")

    async def _running_locked(self, sandbox_id: str) -> _Cage:
        if sandbox_id not in self._cages and not await self._attach_locked(sandbox_id):
            raise CageNotFound(f"{sandbox_id} is not running")
        return self._cages[sandbox_id]

    async def stop(self, sandbox_id: str) -> None:
        """Kill every process of the cage and verify none is left; keep its files."""
        async with self._lock(sandbox_id):
            await self._stop_locked(sandbox_id)

    async def _stop_locked(self, sandbox_id: str) -> None:
        cage_dir = self.sandbox_dir(sandbox_id)
        spare = self._taken.pop(sandbox_id, None)
        if spare is not None:  # taken for this sandbox, which never started
            await self._discard_spare(spare)
        cage = self._cages.pop(sandbox_id, None)
        if cage is None:
            state = await asyncio.to_thread(CageState.load, cage_dir / "cage.json")
            if state is None:
                return
            cage = _Cage(state, AgentLink(""))
        await self._close_host_side(cage)
        survivors = await asyncio.to_thread(self._kill, cage)
        cage.state.running = False
        cage.state.paused = False
        if cage_dir.exists():
            await asyncio.to_thread(cage.state.save, cage_dir / "cage.json")
        if survivors:
            raise CageError(f"{sandbox_id}: processes survived SIGKILL: {sorted(survivors)}")

    async def destroy(self, sandbox_id: str) -> None:
        """Stop the cage and remove its directory (workspace, home, run dir, state)."""
        async with self._lock(sandbox_id):
            await self._stop_locked(sandbox_id)
            await asyncio.to_thread(identity.remove_tree, self.sandbox_dir(sandbox_id))
        self._locks.pop(sandbox_id, None)

    async def preview_url(self, sandbox_id: str, port: int) -> str:
        """The host URL for ``port`` inside the cage: a loopback forwarder through the agent
        (cages have networks of their own), the port itself for an unisolated one."""
        cage = await self._running(sandbox_id, allow_paused=True)
        if cage.state.isolation == "none":
            return f"http://127.0.0.1:{port}/"
        forwarder = cage.previews.get(port)
        if forwarder is None:
            forwarder = PortForwarder(cage.link, port)
            await forwarder.start()
            cage.previews[port] = forwarder
        return forwarder.url

    async def watch_files(self, sandbox_id: str) -> AsyncIterator[FileChange]:
        """Debounced changes under ``/workspace``, until the iterator is closed."""
        # A frozen agent could not acknowledge the watch; one opened before a pause just
        # stalls until the resume.
        cage = await self._running(sandbox_id)
        reader, writer, _ = await cage.link.open("watch")
        try:
            while (frame := await read_frame(reader)) is not None:
                kind, payload = frame
                if kind != agent_module.FRAME_CONTROL:
                    continue
                for event in json.loads(payload).get("events", []):
                    # The agent is inside the cage: what it says is kept only as typed facts.
                    facts = {
                        key: value
                        for key, value in event.items()
                        if key in _CHANGE_FACTS
                        and isinstance(value, str | int)
                        and not isinstance(value, bool)
                    }
                    yield FileChange(
                        str(event["path"]), str(event["kind"]), event.get("dest"), facts
                    )
        finally:
            writer.close()

    def on_network_refused(self, callback: Callable[[str, str], None]) -> None:
        """Register ``callback(sandbox_id, host)`` for refused allowlist traffic."""
        self._refused_callbacks.append(callback)

    def _network_refused(self, sandbox_id: str, host: str) -> None:
        log.info("sandbox %s: network access to %s refused", sandbox_id, host)
        for callback in list(self._refused_callbacks):
            try:
                callback(sandbox_id, host)
            except Exception:
                log.exception("on_network_refused callback failed")

    async def aclose(self) -> None:
        """Close host-side listeners and proxies; sandboxes' cages keep running, spare
        cages are killed (and their folders removed)."""
        self._closing = True
        spares = [*(s for pool in self._spares.values() for s in pool), *self._taken.values()]
        self._spares.clear()
        self._taken.clear()
        for spare in spares:
            await self._discard_spare(spare)
        if self._discarding:
            await asyncio.wait(self._discarding)
        for sandbox_id in list(self._cages):
            await self._forget(sandbox_id)

    def cage_pids(self, sandbox_id: str) -> set[int]:
        """Host pids of every process of the cage (blocking; for diagnostics and tests)."""
        cage = self._cages.get(sandbox_id)
        state = cage.state if cage else CageState.load(self.sandbox_dir(sandbox_id) / "cage.json")
        return self._cage_pids(state) if state is not None else set()

    # ---------------------------------------------------------------------- host-side work

    async def _forget(self, sandbox_id: str) -> None:
        cage = self._cages.pop(sandbox_id, None)
        if cage is not None:
            await self._close_host_side(cage)

    async def _close_host_side(self, cage: _Cage) -> None:
        cage.link.close()
        if cage.proxy is not None:
            await cage.proxy.close()
            cage.proxy = None
        for forwarder in cage.previews.values():
            await forwarder.close()
        cage.previews.clear()
        if cage.dir_fd is not None:
            os.close(cage.dir_fd)
            cage.dir_fd = None

    def _cage_pids(self, state: CageState) -> set[int]:
        cgroups = Cgroups.from_json(state.cgroups)
        found = cgroups.pids()
        if procs.is_same_process(state.pid, state.pid_start):
            # Only while the init lives: once it is gone the kernel has emptied its namespace,
            # and a namespace inode (or pid) may since have been reused by something else.
            found |= procs.tree(state.pid)
            if state.pid_ns is not None:
                found |= procs.pids_in_namespace(state.pid_ns)
        if state.slirp_pid is not None and procs.is_same_process(
            state.slirp_pid, state.slirp_start
        ):
            found.add(state.slirp_pid)
        if state.isolation == "none" and not cgroups.active:
            # Nothing contains an unisolated cage; its environment tag is the last resort.
            found |= procs.pids_with_env(TAG_ENV, state.tag)
        return procs.live(found)

    def _host_ports(self, state: CageState) -> list[int]:
        pids = self._cage_pids(state)
        return agent_module.listening_ports(pids, f"/proc/{state.pid}/net")

    def _freeze(self, state: CageState) -> None:
        if not Cgroups.from_json(state.cgroups).freeze():
            # No freezer: stop every process; loop because a fork may race the first pass.
            for _ in range(3):
                signal_all(self._cage_pids(state), signal.SIGSTOP)

    def _thaw(self, state: CageState) -> None:
        if not Cgroups.from_json(state.cgroups).thaw():
            signal_all(self._cage_pids(state), signal.SIGCONT)

    def _kill(self, cage: _Cage, sandbox_dir: Path | None = None) -> set[int]:
        """SIGKILL every process of the cage, verify, reap, remove its cgroups."""
        state = cage.state
        cgroups = Cgroups.from_json(state.cgroups)
        if procs.is_same_process(state.pid, state.pid_start):
            # The PID namespace's init: when it dies the kernel kills everything in it.
            signal_all([state.pid], signal.SIGKILL)
            if cage.process is not None:
                # bwrap's outer process reaps the init and exits by itself; killed first, it
                # would leave the init a zombie for the host's pid 1, which may never reap it.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    cage.process.wait(2.0)
        survivors = kill_and_verify(lambda: self._cage_pids(state), cgroups)
        for child in (cage.process, cage.network):  # reaped, or they linger as zombies
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(5.0)
        deadline = time.monotonic() + 2.0
        while not cgroups.remove() and time.monotonic() < deadline:
            time.sleep(0.01)  # tasks leave the cgroup a moment after they die
        folder = sandbox_dir or self.sandbox_dir(state.sandbox_id)
        with contextlib.suppress(OSError):
            (folder / "run" / "agent.sock").unlink()
        return survivors


@functools.cache
def _agent_files() -> tuple[bytes, bytes | None]:
    """The agent's source and its bytecode cache, compiled once per server process.

    Imported (not run as a script) the agent's bytecode is loaded from ``__pycache__``;
    compiling it costs more than the rest of a cage's start-up.  The cache is an
    unchecked-hash pyc, so it stays valid for every copy of the source; a cage Python of
    another version ignores it (the file name carries the version tag).
    """
    source = Path(agent_module.__file__).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "agent.py")
        src.write_bytes(source)
        target = Path(tmp, "agent.pyc")
        try:
            py_compile.compile(
                str(src),
                cfile=str(target),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
        except (OSError, py_compile.PyCompileError):
            return source, None
        return source, target.read_bytes()


def _network_text(spec: CageSpec, isolated: bool) -> str:
    """How the cage's network is set up, as its config reports it (a ``full`` one is
    described again once slirp4netns is up)."""
    if not isolated:
        if spec.network_mode == "full":
            return "shared host network"
        return (
            f"shared host network — network_mode {spec.network_mode!r} NOT enforced (no isolation)"
        )
    if spec.network_mode == "full":
        return "own network namespace (starting)"
    if spec.network_mode == "none":
        return "own network namespace, loopback only"
    return f"allowlist proxy ({', '.join(spec.allowlist) or 'nothing allowed'})"


def _write_network_files(run: Path, sandbox_id: str, address: network.CageAddress | None) -> None:
    """The cage's /etc/hostname, /etc/hosts and /etc/resolv.conf.  Rewritten in place on a
    claim: bwrap bound these files (their inodes) into the cage."""
    (run / "hostname").write_text(f"{sandbox_id}\n")
    (run / "hosts").write_text(
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"{address.ip if address else '127.0.1.1'}\t{sandbox_id}\n"
    )
    (run / "resolv.conf").write_text(f"nameserver {address.dns}\n" if address else "")


def _settle_claim(state: CageState, cage_dir: Path) -> None:
    """Record a claimed spare as its sandbox's cage: from now on it is never taken for a
    spare left behind (and removed) by a restarted server."""
    state.save(cage_dir / "cage.json")
    _unlink(cage_dir / SPARE_MARK)


def _failed(task: asyncio.Task[_Cage]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _note_spare_failure(task: asyncio.Task[_Cage]) -> None:
    if not task.cancelled() and (err := task.exception()) is not None:
        log.warning("a spare cage did not start: %s", err)


def _hand_socket_to(path: Path, uid: int) -> None:
    """Make a host-created socket connectable by the cage's uid only."""
    if os.geteuid() == 0:
        os.chown(path, uid, uid)
    os.chmod(path, 0o600)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _tail(path: Path, limit: int = 800) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no agent log)"
    return text[-limit:].strip() or "(empty agent log)"


def _read_bwrap_info(fd: int, timeout: float) -> dict[str, Any] | None:
    """bwrap's ``--info-fd`` JSON (host pid of the cage's init, namespace inodes)."""
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.wait_readable(fd, deadline - time.monotonic()):
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        try:
            data: dict[str, Any] = json.loads(buf)
            return data
        except ValueError:
            continue
    try:
        data = json.loads(buf)
        return data
    except ValueError:
        return None


if TYPE_CHECKING:
    # mypy proves the runtime satisfies the contract the server codes against.
    _conforms: Runtime = LocalRuntime(Path())
