"""Sandbox lifecycle of the local platform: create, provision, pause, resume, stop, destroy.

Statuses only move along the contract's graph (:data:`TRANSITIONS`); any other
request is a 409 problem. Every lifecycle operation on one sandbox holds that
sandbox's lock, so a pause cannot interleave with a destroy.

What happens is also told to the :class:`~caged_platform.observe.Observer`:
each lifecycle change and exec becomes an event, and while a cage runs a task
records the file changes made inside it (started when it starts, attaches or
resumes; cancelled when it pauses, stops or is destroyed).

Compute cost accrues per second while a sandbox is ``running``: finished
running segments are summed in ``compute_seconds`` and the open one starts at
``running_since``, so the cost is always derived, never ticked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from caged_core.errors import redact
from caged_core.models import ExecResult, Port, Sandbox, SandboxConfig, SandboxCreate
from caged_platform.changes import unwatched
from caged_platform.errors import Problem
from caged_platform.observe import Observer
from caged_platform.runtime.api import CageError, CageSpec, Runtime, new_sandbox_id
from caged_platform.services.auth import LOCAL_ACCOUNT
from caged_platform.services.connections import Connections
from caged_platform.services.snapshot_service import SnapshotService
from caged_platform.store import Row, Store, utcnow

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_SANDBOXES",
    "TRANSITIONS",
    "SandboxService",
    "compute_cost",
]

_log = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT = 900
DEFAULT_EXEC_TIMEOUT = 300.0
PROVISION_STEP_TIMEOUT = 900.0
# Terminal close code when the sandbox goes away under an open socket ("going away").
CLOSE_GOING_AWAY = 1001
#: How long an exec runs before its command line is logged on its own (see ``exec``).
RUNNING_NOTE_AFTER = 0.05
#: The runtime's file watch batches changes and delivers each within about a second
#: of it happening; this is that bound plus room for the trip to the observer.
FILE_CHANGE_LATENCY = 1.25

#: Where each status may go next.
TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"running", "error", "stopped", "destroyed"}),
    "running": frozenset({"paused", "stopped", "error", "destroyed"}),
    "paused": frozenset({"running", "stopped", "error", "destroyed"}),
    "stopped": frozenset({"destroyed"}),
    "error": frozenset({"destroyed"}),
    "destroyed": frozenset(),
}
LIVE_STATUSES = ("pending", "running", "paused")
#: How disk_gb applies here (the sandbox's config and log say so): an unprivileged
#: platform has no per-directory quota to enforce it with.
DISK_ADVISORY = "advisory on the local platform: recorded, not enforced (no disk quota)"
#: Sandboxes in LIVE_STATUSES the platform holds at once unless configured otherwise.
DEFAULT_MAX_SANDBOXES = 20
#: The idle deadline of a sandbox that never pauses for idleness (its timeout is 0).
NEVER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

# The contract's compute price, per second of a running sandbox.
_USD_PER_VCPU_SECOND = 0.01 / 3600
_USD_PER_GB_SECOND = 0.005 / 3600

_PACKAGE_INSTALLERS = {
    "python": "python3 -m pip install --user --disable-pip-version-check --no-input",
    "node": 'npm install --global --prefix "$HOME/.npm-global"',
}


def _is_host_path(repo: str) -> bool:
    """A repository named by a path of the host (clones run inside the cage, which has none)."""
    return repo.startswith(("file:", "/", "./", "../", "~")) or repo in (".", "..")


def _family(template: str) -> str:
    return template.split("-", 1)[0]


def _without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part, fit to be shown and logged."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _seconds_running(row: Row, now: datetime) -> float:
    total = float(row["compute_seconds"])
    if row["running_since"]:
        total += max(0.0, (now - row["running_since"]).total_seconds())
    return total


def compute_cost(row: Row, now: datetime) -> float:
    """Compute USD a sandbox has accrued so far (per second while running)."""
    rate = row["cpus"] * _USD_PER_VCPU_SECOND + row["memory_mb"] / 1024 * _USD_PER_GB_SECOND
    return float(_seconds_running(row, now) * rate)


@dataclass(frozen=True, slots=True)
class _Step:
    """One provisioning command: what the log calls it and how to run it."""

    label: str
    command: str
    env: dict[str, str] | None = None


class _Once:
    """Calls ``action`` the first time it is called, never again."""

    def __init__(self, action: Callable[[], None]) -> None:
        self._action: Callable[[], None] | None = action

    def __call__(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()


class ProvisionError(Exception):
    """A provisioning step failed; the message says which and why."""


class SandboxService:
    """Owns sandbox rows and drives the runtime through the lifecycle."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        snapshots: SnapshotService,
        connections: Connections,
        observer: Observer,
        *,
        max_live: int = DEFAULT_MAX_SANDBOXES,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        # Told (with the account) of every write to a sandbox row: held GETs of the list.
        self._on_change = on_change or unwatched
        self._runtime = runtime
        self._snapshots = snapshots
        self._connections = connections
        self._observer = observer
        self._max_live = max_live
        # Held from counting the live sandboxes to storing a new one, so that concurrent
        # creates cannot both take the last place.
        self._admitting = asyncio.Lock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._provisioning: dict[str, asyncio.Task[None]] = {}
        # One file-change recorder per running cage.
        self._watches: dict[str, asyncio.Task[None]] = {}
        # Activity is noted in memory (terminal input is frequent) and flushed by the ticker.
        self._activity: dict[str, datetime] = {}
        self._ports_seen: dict[tuple[str, int], datetime] = {}
        # Rows as last read, so that exec, terminal and file calls need no database trip:
        # rows change only through this service, and each change drops the entry after
        # the write (a read that raced the write cannot leave its older copy behind).
        self._rows: dict[str, Row] = {}

    # ------------------------------------------------------------------ reading

    def _lock(self, sandbox_id: str) -> asyncio.Lock:
        return self._locks.setdefault(sandbox_id, asyncio.Lock())

    async def row(self, sandbox_id: str) -> Row:
        """The sandbox's row, or a 404 problem."""
        row = self._rows.get(sandbox_id)
        if row is None:
            row = await self._store.get("sandboxes", sandbox_id)
            if row is None:
                raise Problem(404, f"sandbox {sandbox_id!r} not found")
            self._rows[sandbox_id] = row
        return dict(row)

    async def _update_row(self, sandbox_id: str, **fields: object) -> None:
        await self._store.update("sandboxes", sandbox_id, **fields)
        self._rows.pop(sandbox_id, None)
        self._on_change(LOCAL_ACCOUNT)

    async def live_row(self, sandbox_id: str) -> Row:
        """The row of a sandbox that has not been destroyed (404 otherwise)."""
        row = await self.row(sandbox_id)
        if row["status"] == "destroyed":
            raise Problem(404, f"sandbox {sandbox_id!r} has been destroyed")
        return row

    async def running_row(self, sandbox_id: str, doing: str) -> Row:
        """The row of a running sandbox; 409 naming its status otherwise."""
        row = await self.live_row(sandbox_id)
        if row["status"] != "running":
            raise Problem(409, f"sandbox {sandbox_id!r} is {row['status']}, so it cannot {doing}")
        return row

    def model(self, row: Row) -> Sandbox:
        """The wire shape of a sandbox row, with its cost as of now."""
        now = utcnow()
        cost = round(compute_cost(row, now), 6)
        raw_config = json.loads(row["config"]) if row["config"] else None
        config = SandboxConfig.model_validate(raw_config) if raw_config is not None else None
        activity = self._activity.get(row["id"]) or row["last_activity_at"]
        llm_cost = round(self._observer.llm_cost(row["id"]), 6)
        return Sandbox.model_validate(
            {
                **row,
                "allowlist": json.loads(row["allowlist"]),
                "config": config,
                # The cage's own address, recorded when it started (full network only).
                "ip": (raw_config or {}).get("ip"),
                "cost": cost,
                "llm_cost": llm_cost,
                "total_cost": round(cost + llm_cost, 6),
                "last_activity_at": activity,
            }
        )

    async def listing(self) -> list[Sandbox]:
        """Every sandbox that has not been destroyed, newest first."""
        rows = await self._store.sandboxes(statuses=(*LIVE_STATUSES, "stopped", "error"))
        return [self.model(r) for r in rows]

    async def idle_deadline(self, sandbox_id: str) -> datetime:
        """When the sandbox pauses for idleness unless something happens in it first;
        :data:`NEVER` when its idle timeout is 0."""
        row = await self.row(sandbox_id)
        if not row["timeout"]:
            return NEVER
        last = self._activity.get(sandbox_id)
        if last is None:
            last = row["last_activity_at"] or utcnow()
        return last + timedelta(seconds=row["timeout"])

    async def compute_seconds(self) -> float:
        """Running seconds of every sandbox ever, the open segments included."""
        now = utcnow()
        return sum(_seconds_running(r, now) for r in await self._store.sandboxes())

    # ------------------------------------------------------------------ transitions

    async def _move(self, row: Row, to: str, **fields: object) -> Row:
        """Change a sandbox's status along the graph, closing/opening its compute segment."""
        current = row["status"]
        if to not in TRANSITIONS.get(current, frozenset()):
            raise Problem(409, f"sandbox {row['id']!r} is {current} and cannot become {to}")
        now = utcnow()
        changes: dict[str, object] = {"status": to, **fields}
        if current == "running":
            changes["compute_seconds"] = _seconds_running(row, now)
            changes["running_since"] = None
        if to == "running":
            changes["running_since"] = now
            if row["started_at"] is None:
                changes["started_at"] = now
        if to in ("stopped", "error", "destroyed"):
            changes["stopped_at"] = now
        await self._update_row(row["id"], **changes)
        return await self.row(row["id"])

    async def log(self, sandbox_id: str, kind: str, message: str) -> None:
        """Add a log entry (secrets redacted)."""
        await self._store.add_log(sandbox_id, kind, redact(message))

    def _log_soon(self, sandbox_id: str, kind: str, message: str) -> None:
        """:meth:`log`, committed in the background (:meth:`Store.append_log`)."""
        self._store.append_log(sandbox_id, kind, redact(message))

    # ------------------------------------------------------------------ observation

    async def record(
        self,
        sandbox_id: str,
        type_: str,
        payload: dict[str, Any],
        *,
        session_id: str | None = None,
        duration_ms: float | None = None,
    ) -> None:
        """Tell the observer about something done in the sandbox (an event of
        ``session_id``, else of its newest active session). A failure is logged, never
        raised: recording must not fail the operation it describes."""
        try:
            await self._observer.record(
                LOCAL_ACCOUNT,
                sandbox_id,
                type_,
                payload,
                session_id=session_id,
                duration_ms=duration_ms,
            )
        except Exception:
            _log.exception("recording a %s event for %s failed", type_, sandbox_id)

    async def _lifecycle(self, sandbox_id: str, action: str, *, killed: str | None = None) -> None:
        """Record a lifecycle change; ``killed`` (the reason) ends the sandbox's sessions
        as failed, since their agents lost the processes they worked with."""
        await self.record(sandbox_id, "lifecycle", {"action": action})
        if killed is None:
            return
        try:
            await self._observer.end_sandbox_sessions(sandbox_id, failed=True, reason=killed)
        except Exception:
            _log.exception("ending the sessions of %s failed", sandbox_id)

    def _watch_files(self, sandbox_id: str) -> None:
        """Record the file changes made inside a running cage until it pauses or stops."""
        if sandbox_id in self._watches:
            return
        task = asyncio.create_task(self._follow_files(sandbox_id), name=f"file watch {sandbox_id}")
        self._watches[sandbox_id] = task
        task.add_done_callback(lambda done: self._forget_watch(sandbox_id, done))

    def _forget_watch(self, sandbox_id: str, task: asyncio.Task[None]) -> None:
        # Only this task: by the time an old watch finishes, a resume may have started a new one.
        if self._watches.get(sandbox_id) is task:
            del self._watches[sandbox_id]

    async def _follow_files(self, sandbox_id: str) -> None:
        try:
            changes = self._runtime.watch_files(sandbox_id)
            await self._observer.follow_file_changes(LOCAL_ACCOUNT, sandbox_id, changes)
        except Exception:
            # The cage went away under the watch; its status change says why.
            _log.warning("the file watch of %s ended", sandbox_id, exc_info=True)

    async def settle_file_changes(self, sandbox_id: str) -> None:
        """Wait until the file changes made in the sandbox so far have been recorded, so
        that an agent's last edits still land in its session before the session ends
        (no wait when nothing watches the sandbox)."""
        if sandbox_id in self._watches:
            await asyncio.sleep(FILE_CHANGE_LATENCY)

    async def _unwatch_files(self, sandbox_id: str) -> None:
        task = self._watches.pop(sandbox_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # ------------------------------------------------------------------ create and provision

    async def create(self, body: SandboxCreate) -> Sandbox:
        """Record a new sandbox as ``pending`` and provision it in the background."""
        try:
            self._runtime.check_template(body.template)
        except CageError as err:
            raise Problem(400, str(err)) from err
        if body.repo and _is_host_path(body.repo):
            raise Problem(
                400,
                "repo must be a URL the sandbox reaches over its network (https://, ssh://, "
                "git:// or user@host:path): paths on this machine are not visible in a sandbox",
            )
        if body.packages and _family(body.template) not in _PACKAGE_INSTALLERS:
            raise Problem(
                400,
                f"packages cannot be installed on the {body.template} template; "
                "use a python or node template",
            )
        row: Row = {
            "status": "pending",
            "template": body.template,
            "cpus": body.cpus or 2,
            "memory_mb": body.memory_mb or 512,
            "disk_gb": body.disk_gb or 5,
            "network_mode": str(body.network_mode or "full"),
            "allowlist": json.dumps(body.allowlist or []),
            "repo_url": _without_credentials(body.repo) if body.repo else None,
            "budget": body.budget,
            "init_script": body.init_script,
            "timeout": DEFAULT_IDLE_TIMEOUT if body.timeout is None else body.timeout,
            "config": json.dumps({"source": "flags"}),
            "created_at": utcnow(),
        }
        async with self._admitting:
            await self._refuse_beyond_the_cap()
            # A warm spare cage of the template, when there is one, becomes this sandbox.
            spare = self._runtime.take_spare(body.template)
            sandbox_id = spare or new_sandbox_id()
            row["id"] = sandbox_id
            try:
                await self._store.insert("sandboxes", row)
                self._on_change(LOCAL_ACCOUNT)
            except BaseException:
                if spare is not None:  # never a sandbox that already had the id
                    await self._runtime.destroy(spare)
                raise
        # The answer acknowledges the row (committed above); this line is committed in the
        # background, before any later request is served.
        self._log_soon(sandbox_id, "lifecycle", f"created from template {body.template}")
        task = asyncio.create_task(
            self._provision(sandbox_id, body), name=f"provision {sandbox_id}"
        )
        self._provisioning[sandbox_id] = task
        task.add_done_callback(lambda _t: self._provisioning.pop(sandbox_id, None))
        return self.model(await self.row(sandbox_id))

    async def _refuse_beyond_the_cap(self) -> None:
        live = len(await self._store.sandboxes(statuses=LIVE_STATUSES))
        if live >= self._max_live:
            detail = (
                f"this platform runs at most {self._max_live} sandboxes at once "
                f"(pending, running or paused; CAGED_MAX_SANDBOXES) and has {live}; "
                "destroy one first"
            )
            raise Problem(
                409,
                detail,
                reason={
                    "code": "plan_limit_reached",
                    "message": detail,
                    "action": "destroy_sandbox",
                    "subject_type": "sandbox",
                    "subject_id": "",
                },
            )

    def _steps(self, body: SandboxCreate) -> Iterator[_Step]:
        if body.repo:
            yield from self._clone_steps(body)
        if body.packages:
            installer = _PACKAGE_INSTALLERS[_family(body.template)]
            packages = " ".join(shlex.quote(p) for p in body.packages)
            yield _Step("install packages", f"{installer} {packages}")
        if body.init_script:
            yield _Step("init script", body.init_script)

    @staticmethod
    def _clone_steps(body: SandboxCreate) -> Iterator[_Step]:
        """The steps that clone ``body.repo`` into ``/workspace``: run *inside the cage*.

        Never on the host: the URL is the client's (``file://`` or a local path
        would read host directories, ``ext::`` runs a command) and what is cloned
        is untrusted content git acts on. In the cage, both mean only what they
        can mean to the sandbox, and the clone goes through the sandbox's own
        network: ``none`` cannot clone, ``allowlist`` needs the git host allowed.
        Later git work on the repository runs in the cage too
        (:mod:`caged_platform.content.cage_git`).
        """
        assert body.repo is not None
        env = {"GIT_TERMINAL_PROMPT": "0"}
        helper = ""
        if body.repo_token:
            # The token reaches git through the environment and an inline credential
            # helper: it never appears in a command line, a log or .git/config.
            env["CAGED_REPO_TOKEN"] = body.repo_token
            helper = (
                "-c credential.helper= -c 'credential.helper=!f() { "
                'echo username=x-access-token; echo "password=$CAGED_REPO_TOKEN"; }; f\' '
            )
        branch = f"--branch {shlex.quote(body.repo_branch)} " if body.repo_branch else ""
        yield _Step(
            f"clone {_without_credentials(body.repo)}",
            f"git {helper}clone --quiet {branch}-- {shlex.quote(body.repo)} .",
            env,
        )
        if body.repo_commit:
            yield _Step(
                f"checkout {body.repo_commit}",
                f"git checkout --quiet {shlex.quote(body.repo_commit)}",
            )
        if body.repo_subdir:
            subdir = shlex.quote(body.repo_subdir)
            yield _Step(
                f"check subdirectory {body.repo_subdir}",
                f"test -d {subdir} || {{ printf 'repo_subdir %s is not in the repository\\n' "
                f"{subdir}; exit 1; }}",
            )

    async def _provision(self, sandbox_id: str, body: SandboxCreate) -> None:
        try:
            await self._start_and_configure(sandbox_id, body)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = redact(str(exc) or type(exc).__name__)
            if not isinstance(exc, ProvisionError):
                _log.exception("provisioning %s failed", sandbox_id)
            await self.log(sandbox_id, "lifecycle", f"provisioning failed: {reason}")
            async with self._lock(sandbox_id):
                row = await self.row(sandbox_id)
                if row["status"] == "pending":
                    await self._move(row, "error", last_error=reason)
            with contextlib.suppress(Exception):
                await self._runtime.stop(sandbox_id)

    async def _start_and_configure(self, sandbox_id: str, body: SandboxCreate) -> None:
        row = await self.row(sandbox_id)
        spec = CageSpec(
            sandbox_id=sandbox_id,
            cpus=row["cpus"],
            memory_mb=row["memory_mb"],
            network_mode=row["network_mode"],
            allowlist=tuple(json.loads(row["allowlist"])),
            env=dict(body.env or {}),
            template=row["template"],
        )

        async def progress(line: str) -> None:
            await self.log(sandbox_id, "system", f"template {row['template']}: {line}")

        await self._runtime.prepare_template(row["template"], progress)
        info = await self._runtime.start(spec)
        config = {
            "source": "flags",
            "isolation": info.isolation,
            "user": info.user,
            "limits": info.limits,
            "network": info.network,
            "ip": info.ip,
            "disk": DISK_ADVISORY,
        }
        steps = list(self._steps(body))
        recorded: dict[str, object] = {"config": json.dumps(config)}
        if steps:
            # Shown while the steps run (a clone or an install can take minutes); without
            # steps it is written with the status change below, one commit for both.
            await self._update_row(sandbox_id, **recorded)
            recorded = {}
        # Notes for the sandbox's log, committed in the background (none is acknowledged
        # to anyone by itself); queued before the status change below, they are committed
        # before it, so a sandbox seen running has them all.
        self._log_soon(
            sandbox_id,
            "lifecycle",
            f"cage started (isolation: {info.isolation}; user: {info.user}; "
            f"limits: {info.limits}; network: {info.network})",
        )
        if info.isolation == "none":
            self._log_soon(
                sandbox_id,
                "system",
                "WARNING: this sandbox is NOT isolated (bubblewrap is unavailable): its "
                "processes run directly on this machine with your user's permissions",
            )
        for note in self._unsupported(body):
            self._log_soon(sandbox_id, "system", note)
        for step in steps:
            await self.log(sandbox_id, "init", f"{step.label}…")
            outcome = await self._runtime.exec(
                sandbox_id, step.command, env=step.env, timeout=PROVISION_STEP_TIMEOUT
            )
            if outcome.output:
                await self.log(sandbox_id, "init", outcome.output.rstrip("\n"))
            if outcome.timed_out:
                raise ProvisionError(f"{step.label} timed out after {PROVISION_STEP_TIMEOUT:.0f} s")
            if outcome.exit_code != 0:
                raise ProvisionError(f"{step.label} failed with exit code {outcome.exit_code}")
        async with self._lock(sandbox_id):
            row = await self.row(sandbox_id)
            if row["status"] == "pending":
                self._activity[sandbox_id] = utcnow()
                # The status is what a create is answered with in the end (clients poll it):
                # committed before it is seen. The log line and the ``started`` event after
                # it are committed in the background, before any later request is served.
                await self._move(
                    row, "running", last_activity_at=self._activity[sandbox_id], **recorded
                )
                self._log_soon(sandbox_id, "lifecycle", "running")
                self._observer.record_soon(
                    LOCAL_ACCOUNT, sandbox_id, "lifecycle", {"action": "started"}
                )
                self._watch_files(sandbox_id)

    @staticmethod
    def _unsupported(body: SandboxCreate) -> Iterator[str]:
        """Notes for create fields the local platform accepts but cannot honour."""
        if body.secrets:
            yield "secrets are not available on the local platform; pass values with env instead"
        if body.agents:
            yield "agents are not preinstalled on the local platform; install them with packages"
        # Every sandbox has a disk_gb (5 by default), so every sandbox is told.
        yield f"disk_gb is {DISK_ADVISORY}"

    # ------------------------------------------------------------------ actions

    def touch(self, sandbox_id: str) -> None:
        """Note activity (exec, terminal input, MCP call, file write): resets the idle clock."""
        self._activity[sandbox_id] = utcnow()

    async def exec(self, sandbox_id: str, command: str, budget: float | None) -> ExecResult:
        """Run a shell command within ``budget`` seconds (default 300).

        A non-zero exit is a result, not an error. What the answer acknowledges is
        the command's result (the command ran; nothing of it is stored by then). Its
        two log lines are committed in the background, in one transaction for a
        short command (:meth:`Store.append_log`), and its ``command`` event in
        another (:meth:`Observer.record_soon`): both are queued before the answer,
        so every later request sees them and a read that has seen them is
        committed, but a SIGKILL before their commit (well under a millisecond on
        an idle store) loses them.
        """
        await self.running_row(sandbox_id, "run commands; resume it first")
        self.touch(sandbox_id)
        budget = budget or DEFAULT_EXEC_TIMEOUT
        # The command's line is logged once it has run for a moment (a long command shows in
        # the log while it runs), else with its result: one commit for a short exec's lines.
        started = _Once(lambda: self._log_soon(sandbox_id, "exec", f"$ {command}"))
        timer = asyncio.get_running_loop().call_later(RUNNING_NOTE_AFTER, started)
        try:
            outcome = await self._runtime.exec(sandbox_id, command, timeout=budget)
        except Exception as exc:
            # The command never ran (the cage's agent is gone, for instance).
            timer.cancel()
            started()
            self._log_soon(sandbox_id, "exec", f"could not run: {exc}")
            return ExecResult(output="", exit_code=None, error=redact(str(exc)))
        finally:
            timer.cancel()
        started()
        error = f"the command timed out after {budget:g} s" if outcome.timed_out else None
        self._log_soon(
            sandbox_id,
            "exec",
            error or f"exit {outcome.exit_code} after {outcome.duration_ms:.0f} ms",
        )
        self._observer.record_soon(
            LOCAL_ACCOUNT,
            sandbox_id,
            "command",
            # With its output (clipped like any recorded string): a replay shows what it said.
            {
                "command": command,
                "exit_code": outcome.exit_code,
                "source": "exec",
                "output": outcome.output,
            },
            duration_ms=outcome.duration_ms,
        )
        return ExecResult(output=outcome.output, exit_code=outcome.exit_code, error=error)

    async def pause(self, sandbox_id: str, *, reason: str = "paused") -> None:
        """Snapshot the workspace (trigger ``auto-pause``), then freeze every process."""
        async with self._lock(sandbox_id):
            row = await self.running_row(sandbox_id, "be paused")
            await self._snapshots.create(sandbox_id, trigger="auto-pause")
            await self._unwatch_files(sandbox_id)
            await self._runtime.pause(sandbox_id)
            await self._move(row, "paused", last_activity_at=self._activity.get(sandbox_id))
            await self.log(sandbox_id, "lifecycle", reason)
            await self._lifecycle(sandbox_id, "paused")
        await self._connections.close_sandbox(sandbox_id, CLOSE_GOING_AWAY, "sandbox paused")

    async def resume(self, sandbox_id: str) -> None:
        """Thaw a paused sandbox."""
        async with self._lock(sandbox_id):
            row = await self.live_row(sandbox_id)
            if row["status"] != "paused":
                raise Problem(409, f"sandbox {sandbox_id!r} is {row['status']}, not paused")
            await self._runtime.resume(sandbox_id)
            self.touch(sandbox_id)
            await self._move(row, "running", last_activity_at=self._activity[sandbox_id])
            await self.log(sandbox_id, "lifecycle", "resumed")
            await self._lifecycle(sandbox_id, "resumed")
            self._watch_files(sandbox_id)

    async def _cancel_provisioning(self, sandbox_id: str) -> None:
        task = self._provisioning.get(sandbox_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stop(self, sandbox_id: str, *, reason: str) -> None:
        """Kill every process of the sandbox but keep its workspace (it can still be
        snapshotted); status ``stopped``, open sockets closed, ``reason`` logged."""
        await self._cancel_provisioning(sandbox_id)
        async with self._lock(sandbox_id):
            row = await self.live_row(sandbox_id)
            if row["status"] == "stopped":
                return
            await self._connections.close_sandbox(sandbox_id, CLOSE_GOING_AWAY, "sandbox stopped")
            await self._unwatch_files(sandbox_id)
            await self._runtime.stop(sandbox_id)
            await self._move(row, "stopped", last_error=reason)
            await self.log(sandbox_id, "lifecycle", f"stopped: {reason}")
            await self._lifecycle(sandbox_id, "stopped", killed=reason)

    async def destroy(self, sandbox_id: str) -> None:
        """Kill everything in the sandbox and delete its data; the row stays as ``destroyed``."""
        await self._cancel_provisioning(sandbox_id)
        async with self._lock(sandbox_id):
            row = await self.live_row(sandbox_id)
            await self._connections.close_sandbox(sandbox_id, CLOSE_GOING_AWAY, "sandbox destroyed")
            await self._unwatch_files(sandbox_id)
            await self._runtime.destroy(sandbox_id)
            await self._move(row, "destroyed")
            await self.log(sandbox_id, "lifecycle", "destroyed")
            await self._lifecycle(sandbox_id, "destroyed", killed="the sandbox was destroyed")
        self._activity.pop(sandbox_id, None)

    async def restore(self, snapshot_id: str, target_id: str) -> None:
        """Overwrite a sandbox's workspace with a snapshot, its processes frozen meanwhile."""
        snapshot = await self._snapshots.completed(snapshot_id)
        async with self._lock(target_id):
            row = await self.live_row(target_id)
            if row["status"] == "pending":
                raise Problem(409, f"sandbox {target_id!r} is still being provisioned")
            running = row["status"] == "running"
            # Frozen processes cannot see the workspace half swapped.
            if running:
                await self._runtime.pause(target_id)
            try:
                await self._snapshots.restore_into(snapshot["id"], target_id)
            finally:
                if running:
                    await self._runtime.resume(target_id)
            self.touch(target_id)
        await self.log(target_id, "lifecycle", f"workspace restored from snapshot {snapshot_id}")

    async def ports(self, sandbox_id: str) -> list[Port]:
        """Ports listening inside a running sandbox, with preview URLs and first sighting."""
        await self.running_row(sandbox_id, "report ports")
        found = sorted(set(await self._runtime.listening_ports(sandbox_id)))
        ports = []
        for port in found:
            detected = self._ports_seen.setdefault((sandbox_id, port), utcnow())
            url = await self._runtime.preview_url(sandbox_id, port)
            ports.append(Port(port=port, preview_url=url, protocol="http", detected_at=detected))
        return ports

    # ------------------------------------------------------------------ background work

    async def recover(self) -> None:
        """After a (re)start: reattach to the cages the database says are alive."""
        for row in await self._store.sandboxes(statuses=LIVE_STATUSES):
            sandbox_id = row["id"]
            try:
                alive = await self._runtime.attach(sandbox_id)
            except Exception:
                # One unreadable cage must not keep the platform from starting.
                _log.exception("reattaching %s failed", sandbox_id)
                alive = False
            if row["status"] == "pending":
                # Provisioning was interrupted midway: the sandbox is in an unknown state.
                reason = "the platform stopped while this sandbox was being provisioned"
                if alive:
                    await self._runtime.stop(sandbox_id)
                await self._move(row, "error", last_error=reason)
                await self.log(sandbox_id, "lifecycle", reason)
            elif alive:
                await self.log(sandbox_id, "lifecycle", "reattached after a platform restart")
                if row["last_activity_at"]:
                    self._activity[sandbox_id] = row["last_activity_at"]
                if row["status"] == "running":
                    self._watch_files(sandbox_id)
            else:
                reason = (
                    self._runtime.stop_reason(sandbox_id)
                    or "its processes were gone when the platform restarted"
                )
                await self._move(row, "stopped", last_error=reason)
                await self.log(sandbox_id, "lifecycle", f"stopped: {reason}")
                await self._lifecycle(sandbox_id, "stopped", killed=reason)

    async def tick(self) -> None:
        """Flush activity times and auto-pause sandboxes idle for longer than their timeout."""
        now = utcnow()
        for row in await self._store.sandboxes(statuses=("running",)):
            sandbox_id = row["id"]
            last = self._activity.get(sandbox_id)
            if last is None:
                last = self._activity[sandbox_id] = now
            if last != row["last_activity_at"]:
                await self._update_row(sandbox_id, last_activity_at=last)
            timeout = row["timeout"]
            if timeout and (now - last).total_seconds() >= timeout:
                try:
                    await self.pause(sandbox_id, reason=f"paused after {timeout} s idle")
                except Problem as exc:
                    # It changed status meanwhile (destroyed, paused by hand): nothing to do.
                    _log.info("idle pause of %s skipped: %s", sandbox_id, exc.detail)
                except Exception:
                    # Logged and retried next tick; the other sandboxes are still checked.
                    _log.exception("idle pause of %s failed", sandbox_id)

    async def shutdown(self) -> None:
        """Cancel provisioning and file watches still in flight (the server is stopping)."""
        for task in list(self._provisioning.values()):
            task.cancel()
        for task in list(self._provisioning.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for sandbox_id in list(self._watches):
            await self._unwatch_files(sandbox_id)
