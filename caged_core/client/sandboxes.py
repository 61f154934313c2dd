"""``client.sandboxes``: lifecycle, exec, logs, ports, trust and the sockets."""

from __future__ import annotations

import builtins
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from caged_core.client._errors import invalid_request
from caged_core.client._pages import AsyncPaginator, Listing, list_of
from caged_core.client._resource import Resource
from caged_core.client._transport import Conditional, encode_path
from caged_core.errors import CagedNotFoundError, CagedTimeoutError
from caged_core.models import (
    TEMPLATES,
    ExecResult,
    LogEntry,
    Port,
    Sandbox,
    SandboxCreate,
    SandboxStatus,
    TemplateInfo,
    TerminalSessionInfo,
    TrustScore,
)

if TYPE_CHECKING:
    # The socket clients load (with websockets) when a socket is first opened.
    from caged_core.client.realtime import ExecStream, MCPClient, TerminalSession

__all__ = ["CREATE_TIMEOUT", "EXEC_TIMEOUT", "Sandboxes"]

#: Creating may pull an image and clone a repo; exec runs a whole command.
CREATE_TIMEOUT = 360.0
EXEC_TIMEOUT = 300.0

# Statuses of a sandbox that is still starting ("creating" is a hosted variant).
_STARTING = frozenset({SandboxStatus.PENDING, "creating"})
_POLL_INTERVAL = 0.5

_SANDBOX = TypeAdapter(Sandbox)
_SANDBOXES = list_of(Sandbox)
_LISTING = Listing.array(_SANDBOXES)
_EXEC = TypeAdapter(ExecResult)
_LOGS = Listing.array(list_of(LogEntry))
_PORTS = Listing.array(list_of(Port))
_TRUST = Listing.array(list_of(TrustScore))
_TERMINALS = Listing.array(list_of(TerminalSessionInfo))
_TEMPLATES = list_of(TemplateInfo)


def create_body(template: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Validate create fields before sending, with the server's own ranges.

    A bad value raises :class:`CagedValidationError` (status 400, as the
    server would answer) without a round trip.
    """
    try:
        spec = SandboxCreate(template=template, **fields)
    except ValidationError as err:
        raise invalid_request("sandbox settings", err) from None
    return spec.to_body()


class Sandboxes(Resource):
    """Create, inspect, run commands in and connect to sandboxes."""

    async def create(
        self,
        /,
        template: str,
        *,
        wait: bool = True,
        timeout: float | None = None,
        **fields: Any,
    ) -> Sandbox:
        """Create a sandbox. ``fields`` are the contract's create fields
        (``cpus``, ``memory_mb``, ``network_mode``, ``env``, ``repo``, …);
        unset ones are omitted so the server's defaults apply.

        A platform may answer before the sandbox is up (the local one answers
        ``pending`` and provisions in the background). With ``wait`` (the
        default, which the 0.2 examples rely on: they exec right after
        creating) the sandbox is polled until it leaves ``pending`` — it is
        then ``running``, or ``error`` with ``last_error``. The whole call
        shares one budget, 360 s by default.
        """
        budget = CREATE_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + budget
        sandbox = await self._core.call(
            "POST", "/sandboxes", _SANDBOX, json=create_body(template, fields), timeout=budget
        )
        while wait and sandbox.status in _STARTING:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CagedTimeoutError(
                    f"sandbox {sandbox.id} was still {sandbox.status} after {budget:g} s",
                    timeout=budget,
                )
            await self._core.retry.sleep(min(_POLL_INTERVAL, left))
            sandbox = await self.get(sandbox.id, timeout=max(left, 1.0))
        return sandbox

    def list(self, *, timeout: float | None = None) -> AsyncPaginator[Sandbox]:
        """Every sandbox of the account (one page: the API does not page them)."""
        return AsyncPaginator(self._core, "/sandboxes", _LISTING, timeout=timeout)

    async def list_if_changed(
        self, *, etag: str | None = None, wait: int | None = None, timeout: float | None = None
    ) -> Conditional[builtins.list[Sandbox]]:
        """Every sandbox, unless unchanged since the answer that carried ``etag``
        (then ``value`` is None). Polling with this costs the server and the
        client almost nothing while nothing changes. ``wait``: ask the server to hold
        the request until the list changes or that many seconds pass (``held`` says
        whether it did; see ``call_if_changed``)."""
        return await self._core.call_if_changed(
            "/sandboxes", _SANDBOXES, etag=etag, timeout=timeout, wait=wait
        )

    async def templates(self, *, timeout: float | None = None) -> builtins.list[TemplateInfo]:
        """The templates the platform knows: which it offers (and why not), which are built.
        A platform without ``GET /templates`` (the hosted one) offers the contract's set."""
        try:
            return await self._core.call("GET", "/templates", _TEMPLATES, timeout=timeout)
        except CagedNotFoundError:
            return [TemplateInfo(name=name, built=True) for name in TEMPLATES]

    async def get(self, sandbox_id: str, *, timeout: float | None = None) -> Sandbox:
        """One sandbox."""
        return await self._core.call(
            "GET", encode_path("/sandboxes/{}", sandbox_id), _SANDBOX, timeout=timeout
        )

    async def destroy(self, sandbox_id: str, *, timeout: float | None = None) -> None:
        """Destroy a sandbox and its workspace (irreversible)."""
        await self._core.act("DELETE", encode_path("/sandboxes/{}", sandbox_id), timeout=timeout)

    async def pause(self, sandbox_id: str, *, timeout: float | None = None) -> None:
        """Pause; the platform takes an ``auto-pause`` snapshot."""
        await self._core.act(
            "POST", encode_path("/sandboxes/{}/pause", sandbox_id), timeout=timeout
        )

    async def resume(self, sandbox_id: str, *, timeout: float | None = None) -> None:
        """Resume a paused sandbox."""
        await self._core.act(
            "POST", encode_path("/sandboxes/{}/resume", sandbox_id), timeout=timeout
        )

    async def exec(
        self, sandbox_id: str, command: str, *, timeout: float | None = None
    ) -> ExecResult:
        """Run a shell command to completion (default budget 300 s). A non-zero
        exit code is a result, not an error; never retried automatically."""
        return await self._core.call(
            "POST",
            encode_path("/sandboxes/{}/exec", sandbox_id),
            _EXEC,
            json={"command": command},
            timeout=EXEC_TIMEOUT if timeout is None else timeout,
        )

    def logs(
        self, sandbox_id: str, *, tail: int | None = None, timeout: float | None = None
    ) -> AsyncPaginator[LogEntry]:
        """The last ``tail`` log entries (server default 100; one page). Poll to follow."""
        return AsyncPaginator(
            self._core,
            encode_path("/sandboxes/{}/logs", sandbox_id),
            _LOGS,
            params={"tail": tail},
            timeout=timeout,
        )

    def ports(self, sandbox_id: str, *, timeout: float | None = None) -> AsyncPaginator[Port]:
        """Listening ports with their preview URLs (one page)."""
        return AsyncPaginator(
            self._core, encode_path("/sandboxes/{}/ports", sandbox_id), _PORTS, timeout=timeout
        )

    def trust_scores(
        self, sandbox_id: str, *, timeout: float | None = None
    ) -> AsyncPaginator[TrustScore]:
        """Trust scores of the sandbox's agent sessions (one page)."""
        return AsyncPaginator(
            self._core, encode_path("/trust/sandboxes/{}", sandbox_id), _TRUST, timeout=timeout
        )

    def terminal_sessions(
        self, sandbox_id: str, *, timeout: float | None = None
    ) -> AsyncPaginator[TerminalSessionInfo]:
        """Terminal sockets open on the sandbox right now (one page)."""
        return AsyncPaginator(
            self._core,
            encode_path("/sandboxes/{}/terminal/sessions", sandbox_id),
            _TERMINALS,
            timeout=timeout,
        )

    async def terminal(
        self,
        sandbox_id: str,
        *,
        rows: int = 24,
        cols: int = 80,
        open_timeout: float | None = None,
    ) -> TerminalSession:
        """Open an interactive terminal (a login shell on a PTY)."""
        from caged_core.client.realtime import TerminalSession

        return await TerminalSession.open(
            self._core, sandbox_id, rows=rows, cols=cols, open_timeout=open_timeout
        )

    def reconnecting_terminal(
        self,
        sandbox_id: str,
        *,
        rows: int = 24,
        cols: int = 80,
        open_timeout: float | None = None,
    ) -> AsyncIterator[TerminalSession]:
        """Terminals that come back after a dropped connection::

            async for term in caged.sandboxes.reconnecting_terminal(id):
                async for text in term: ...

        A new session is opened only when the previous one dropped; the loop
        ends when the shell exits, the sandbox pauses, or you close it.
        """
        from caged_core.client.realtime.terminal import reconnecting

        return reconnecting(
            lambda: self.terminal(sandbox_id, rows=rows, cols=cols, open_timeout=open_timeout),
            self._core.retry,
        )

    async def exec_stream(
        self, sandbox_id: str, command: str, *, open_timeout: float | None = None
    ) -> ExecStream:
        """Run ``command`` and stream its output; read ``exit_code`` afterwards."""
        from caged_core.client.realtime import ExecStream

        return await ExecStream.start(self._core, sandbox_id, command, open_timeout=open_timeout)

    async def mcp(self, sandbox_id: str, *, open_timeout: float | None = None) -> MCPClient:
        """Connect to the sandbox's MCP server (already initialized)."""
        from caged_core.client.realtime import MCPClient

        return await MCPClient.open(self._core, sandbox_id, open_timeout=open_timeout)
