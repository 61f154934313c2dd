"""A Model Context Protocol client over ``/sandboxes/{id}/mcp`` (subprotocol ``mcp``).

JSON-RPC 2.0, one message per text frame, integer request ids from 1. A
JSON-RPC error answer raises :class:`~caged_core.errors.MCPError`; a tool
that *fails* is not an error but a result with ``isError: true``, returned
as is. Server notifications (``method`` without ``id``) go to
``on_notification`` callbacks and to :meth:`MCPClient.notifications`. When the
socket drops, every call still waiting fails with
:class:`~caged_core.errors.CagedConnectionError` — nothing hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from caged_core.client._transport import APICore, encode_path
from caged_core.client._version import __version__
from caged_core.client.realtime._socket import connect_socket
from caged_core.errors import (
    CagedConnectionError,
    CagedProtocolError,
    CagedTimeoutError,
    MCPError,
)

__all__ = [
    "PROTOCOL_VERSION",
    "REQUEST_TIMEOUT",
    "TOOL_CALL_TIMEOUT",
    "MCPClient",
    "MCPNotification",
    "MCPTool",
]

log = logging.getLogger("caged_core.client.mcp")

PROTOCOL_VERSION = "2024-11-05"
REQUEST_TIMEOUT = 30.0
TOOL_CALL_TIMEOUT = 300.0  # a tool may run a command: as long as an exec may take
_BUFFERED_NOTIFICATIONS = 256
_METHOD_NOT_FOUND = -32601


class MCPTool(BaseModel):
    """One tool the server offers."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    name: str
    description: str = ""
    input_schema: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("inputSchema", "input_schema")
    )


@dataclass(frozen=True, slots=True)
class MCPNotification:
    """A message the server sent on its own (``notifications/...``)."""

    method: str
    params: dict[str, Any] = field(default_factory=dict)


NotificationCallback = Callable[[MCPNotification], None]


class MCPClient:
    """A connected MCP session. Create it with ``await client.sandboxes.mcp(id)``,
    which also runs :meth:`initialize`."""

    def __init__(self, ws: ClientConnection, *, sandbox_id: str) -> None:
        self.sandbox_id = sandbox_id
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._callbacks: list[NotificationCallback] = []
        self._notifications: asyncio.Queue[MCPNotification | None] = asyncio.Queue(
            _BUFFERED_NOTIFICATIONS
        )
        self._ended = False
        self._init_result: dict[str, Any] | None = None
        self._reader = asyncio.create_task(self._read(), name=f"mcp-{sandbox_id}")

    @classmethod
    async def open(
        cls, core: APICore, sandbox_id: str, *, open_timeout: float | None = None
    ) -> Self:
        """Connect and initialize."""
        ws = await connect_socket(
            core,
            encode_path("/sandboxes/{}/mcp", sandbox_id),
            subprotocol="mcp",
            open_timeout=open_timeout,
        )
        client = cls(ws, sandbox_id=sandbox_id)
        try:
            await client.initialize()
        except BaseException:
            await client.close()
            raise
        return client

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """Whether the socket has ended; calls then fail with CagedConnectionError."""
        return self._ended

    @property
    def server_info(self) -> dict[str, Any]:
        """``serverInfo`` from the initialize answer (empty before it)."""
        info = (self._init_result or {}).get("serverInfo")
        return info if isinstance(info, dict) else {}

    def __repr__(self) -> str:
        state = "closed" if self._ended else "open"
        return f"<MCPClient {self.sandbox_id} {state}>"

    # ------------------------------------------------------------------ JSON-RPC

    async def request(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send one JSON-RPC request and return its ``result`` (default budget 30 s)."""
        if self._ended:
            raise CagedConnectionError(f"MCP socket of {self.sandbox_id} is closed")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        budget = REQUEST_TIMEOUT if timeout is None else timeout
        try:
            await self._ws.send(json.dumps(message))
            return await asyncio.wait_for(future, budget)
        except ConnectionClosed as err:
            raise CagedConnectionError(f"MCP socket of {self.sandbox_id} closed") from err
        except TimeoutError as err:
            raise CagedTimeoutError(
                f"MCP {method} got no answer within {budget:g} s", timeout=budget
            ) from err
        finally:
            self._pending.pop(request_id, None)

    async def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        """Send a JSON-RPC notification (no answer expected)."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        try:
            await self._ws.send(json.dumps(message))
        except ConnectionClosed as err:
            raise CagedConnectionError(f"MCP socket of {self.sandbox_id} closed") from err

    # ------------------------------------------------------------------ MCP methods

    async def initialize(self) -> dict[str, Any]:
        """Run the MCP handshake once; later calls return the first answer."""
        if self._init_result is None:
            result = await self._object(
                "initialize",
                {
                    "protocolVersion": PROTOCOL_VERSION,
                    "capabilities": {},
                    "clientInfo": {"name": "caged-tui", "version": __version__},
                },
            )
            self._init_result = result
            await self.notify("notifications/initialized")
        return self._init_result

    async def list_tools(self) -> list[MCPTool]:
        """Every tool the server offers (following ``nextCursor`` pages)."""
        return [MCPTool.model_validate(t) for t in await self._list("tools/list", "tools")]

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Call a tool (default budget 300 s); the result has ``content`` and,
        when the tool failed, ``isError: true``."""
        budget = TOOL_CALL_TIMEOUT if timeout is None else timeout
        return await self._object(
            "tools/call", {"name": name, "arguments": arguments or {}}, timeout=budget
        )

    async def list_resources(self) -> list[dict[str, Any]]:
        """``resources/list`` (many servers answer -32601 → :class:`MCPError`)."""
        return await self._list("resources/list", "resources")

    async def read_resource(self, uri: str) -> dict[str, Any]:
        """``resources/read`` for one ``uri``."""
        return await self._object("resources/read", {"uri": uri})

    async def list_prompts(self) -> list[dict[str, Any]]:
        """``prompts/list`` (many servers answer -32601 → :class:`MCPError`)."""
        return await self._list("prompts/list", "prompts")

    async def get_prompt(
        self, name: str, arguments: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """``prompts/get`` for one prompt."""
        return await self._object("prompts/get", {"name": name, "arguments": arguments or {}})

    async def ping(self) -> None:
        """``ping``: raises if the server does not answer."""
        await self.request("ping")

    async def _object(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """A request whose result must be a JSON object."""
        result = await self.request(method, params, timeout=timeout)
        if not isinstance(result, dict):
            raise CagedProtocolError(
                f"MCP {method} answered {type(result).__name__}, not an object"
            )
        return result

    async def _list(self, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            result = await self._object(method, {"cursor": cursor} if cursor else None)
            items.extend(i for i in result.get(key) or [] if isinstance(i, dict))
            cursor = result.get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                return items

    # ------------------------------------------------------------------ notifications

    def on_notification(self, callback: NotificationCallback) -> None:
        """Call ``callback(notification)`` for every server notification."""
        self._callbacks.append(callback)

    async def notifications(self) -> AsyncIterator[MCPNotification]:
        """Server notifications as they arrive; ends when the socket does.

        At most 256 are buffered; when nobody reads, the oldest are dropped.
        """
        while True:
            if self._notifications.empty() and self._ended:
                return
            item = await self._notifications.get()
            if item is None:
                self._notifications.put_nowait(None)
                return
            yield item

    # ------------------------------------------------------------------ reading

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                await self._dispatch(message)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("MCP reader failed")
        finally:
            self._ended = True
            reason = self._close_description()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(
                        CagedConnectionError(f"MCP socket of {self.sandbox_id} {reason}")
                    )
            self._queue_notification(None)

    def _close_description(self) -> str:
        code = self._ws.close_code
        if code is None:
            return "dropped"
        return f"closed ({code}{' ' + self._ws.close_reason if self._ws.close_reason else ''})"

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            log.warning("MCP server sent a frame that is not JSON; ignored")
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                await self._answer_server_request(message["id"], method)
            else:
                params = message.get("params")
                self._notify(MCPNotification(method, params if isinstance(params, dict) else {}))
            return
        future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        error = message.get("error")
        if isinstance(error, dict):
            future.set_exception(
                MCPError(
                    str(error.get("message") or "MCP error"),
                    code=int(error.get("code") or 0),
                    data=error.get("data"),
                )
            )
        else:
            future.set_result(message.get("result"))

    async def _answer_server_request(self, request_id: Any, method: str) -> None:
        # We offer no client capabilities; only the liveness ping gets a result.
        if method == "ping":
            answer: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": {}}
        else:
            answer = {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": _METHOD_NOT_FOUND, "message": f"unsupported: {method}"},
            }
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(json.dumps(answer))

    def _notify(self, notification: MCPNotification) -> None:
        for callback in self._callbacks:
            try:
                callback(notification)
            except Exception:
                log.exception("MCP notification callback failed")
        self._queue_notification(notification)

    def _queue_notification(self, item: MCPNotification | None) -> None:
        if self._notifications.full():
            self._notifications.get_nowait()  # drop the oldest
        self._notifications.put_nowait(item)

    # ------------------------------------------------------------------ closing

    async def close(self) -> None:
        """Close the socket; calls still waiting fail with CagedConnectionError."""
        with contextlib.suppress(Exception):
            await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
