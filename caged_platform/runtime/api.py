"""The contract between the local platform's HTTP layer and its sandbox runtime.

The server (``caged_platform.http.server``) only ever talks to sandboxes through
:class:`Runtime`; the runtime knows nothing about HTTP, keys or the database.
Everything here is plain data so either side can be tested on its own.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


def new_sandbox_id() -> str:
    """A fresh sandbox id (the runtime names spare cages with one ahead of their sandbox)."""
    return "cage-" + secrets.token_hex(4)


class CageError(Exception):
    """A runtime operation failed (the message is meant for the user)."""


class CageNotFound(CageError):
    """No cage with that id was started under this data dir, or it is not running."""


class CagePaused(CageError):
    """The cage is paused (frozen): resume it before talking to it."""


@dataclass(frozen=True, slots=True)
class CageSpec:
    """What the runtime needs to start a cage (validated by the server already)."""

    sandbox_id: str
    template: str = "minimal"
    cpus: int = 2
    memory_mb: int = 512
    network_mode: str = "full"  # full | none | allowlist
    allowlist: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CageInfo:
    """How a cage was actually started — reported in the sandbox's ``config``."""

    pid: int
    isolation: str  # "bwrap" or "none"
    limits: str  # e.g. "cgroup-v1 (memory, cpu, freezer)" or "rlimit+affinity"
    network: str  # e.g. "own network 10.64.3.100 (slirp4netns)", "loopback only"
    user: str = ""  # who the cage's processes are on the host, e.g. "host uid 1000123, …"
    ip: str | None = None  # the cage's own address (full network), reported as Sandbox.ip
    template: str = ""


@dataclass(frozen=True, slots=True)
class TemplateEntry:
    """A template of the contract as this runtime sees it."""

    name: str
    available: bool  # offered here (else ``description`` says why not)
    built: bool  # its image is ready
    description: str


@dataclass(frozen=True, slots=True)
class ExecOutcome:
    output: str  # stdout and stderr interleaved as produced
    exit_code: int | None  # None when killed by the timeout
    duration_ms: float
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class CageStats:
    cpu_seconds: float
    memory_bytes: int


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str  # absolute inside the cage, e.g. /workspace/a.txt
    kind: str  # created | modified | deleted | moved
    dest: str | None = None
    """For ``moved``: the new path (``path`` is the old one)."""
    facts: Mapping[str, str | int] = field(default_factory=dict)
    """What changed, as the in-cage agent saw it: ``diff`` (unified) for a text file under
    its cap, else ``size_before``/``size_after`` and ``sha256_before``/``sha256_after``."""


class PtyChannel(Protocol):
    """A shell on a PTY inside a cage."""

    async def read(self) -> bytes:
        """Next chunk of output; ``b""`` once the shell has exited."""

    async def write(self, data: bytes) -> None: ...

    async def resize(self, rows: int, cols: int) -> None: ...

    async def close(self) -> None:
        """Hang up: the shell and its foreground job get SIGHUP."""

    @property
    def exit_status(self) -> int | None: ...


class Runtime(Protocol):
    """Starts, drives and tears down cages. One instance per data dir."""

    data_dir: Path

    @property
    def isolation(self) -> str:
        """``"bwrap"`` when cages are isolated, ``"none"`` otherwise (said loudly)."""

    def workspace_dir(self, sandbox_id: str) -> Path:
        """Host path of the cage's ``/workspace``."""

    def check_template(self, name: str) -> None:
        """Raise :class:`CageError` (saying what is offered) unless ``name`` can be started."""

    async def prepare_template(self, name: str, progress: Callable[[str], Awaitable[None]]) -> None:
        """Build the template's image if it is not built yet, reporting progress lines."""

    def template_catalogue(self) -> list[TemplateEntry]:
        """Every template of the contract: offered here or not (and why), built or not."""

    def stop_reason(self, sandbox_id: str) -> str | None:
        """Why the runtime itself stopped this cage (e.g. refused after an upgrade), if so."""

    def take_spare(self, template: str) -> str | None:
        """Reserve a warm spare cage of ``template``: the id to create the new sandbox under
        (``start`` then makes that cage the sandbox's, with its limits, network and
        environment), or None (``start`` starts one cold under any new id)."""

    async def start(self, spec: CageSpec) -> CageInfo: ...

    async def attach(self, sandbox_id: str) -> bool:
        """After a server restart: is this cage's agent alive? Reconnects if so."""

    async def exec(
        self,
        sandbox_id: str,
        command: str,
        *,
        env: dict[str, str] | None = None,
        timeout: float = 300.0,  # noqa: ASYNC109 - enforced by the runtime on the command
    ) -> ExecOutcome: ...

    async def open_pty(
        self,
        sandbox_id: str,
        *,
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
    ) -> PtyChannel: ...

    async def listening_ports(self, sandbox_id: str) -> list[int]: ...

    async def stats(self, sandbox_id: str) -> CageStats: ...

    async def pause(self, sandbox_id: str) -> None: ...

    async def resume(self, sandbox_id: str) -> None: ...

    async def stop(self, sandbox_id: str) -> None:
        """Kill every process of the cage; keep its workspace."""

    async def destroy(self, sandbox_id: str) -> None:
        """Kill every process of the cage and remove all of its data."""

    async def preview_url(self, sandbox_id: str, port: int) -> str:
        """A URL reachable from the host for a port listening inside the cage."""

    def watch_files(self, sandbox_id: str) -> AsyncIterator[FileChange]:
        """Changes made inside ``/workspace`` by any process (debounced)."""

    def on_network_refused(self, callback: Callable[[str, str], None]) -> None:
        """Register ``callback(sandbox_id, host)`` for refused allowlist connections."""

    async def aclose(self) -> None:
        """Release host-side listeners and proxies (server shutdown); sandboxes' cages keep
        running, spare cages are killed."""
