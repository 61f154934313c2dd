"""Fakes shared by the client tests: an HTTP API behind ``httpx.MockTransport``
and an in-process WebSocket peer (fixtures in ``conftest.py``)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.server import Server, ServerConnection, serve

from caged_core.client import AsyncCaged, RetryPolicy

SECRET = "caged_sk_TESTSECRETdoNotLeak123"
TICKET = "caged_wst_TESTTICKETdoNotLeak456"

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeAPI:
    """Routes ``(METHOD, /v1/path)`` to handlers; unknown routes answer 404 like the router."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def route(self, method: str, path: str, handler: Handler | httpx.Response | Any) -> None:
        """Answer ``method path`` with a handler, a fixed response, or JSON."""
        if isinstance(handler, httpx.Response):
            fixed = handler
            self.routes[(method, path)] = lambda _req: fixed
        elif callable(handler):
            self.routes[(method, path)] = handler
        else:
            body = handler
            self.routes[(method, path)] = lambda _req: httpx.Response(200, json=body)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.raw_path.decode().split("?")[0]))
        if handler is None:
            return httpx.Response(404, text="404 page not found")
        return handler(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def json_body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def make_client(api: FakeAPI, base_url: str = "https://api.test", **kwargs: Any) -> AsyncCaged:
    retry = RetryPolicy(sleep=api.sleep, jitter=lambda: 0.0, max_retries=kwargs.pop("retries", 2))
    return AsyncCaged(
        api_key=SECRET,
        base_url=base_url,
        retry=retry,
        transport=httpx.MockTransport(api),
        **kwargs,
    )


# --------------------------------------------------------------------------- sockets

SocketHandler = Callable[[ServerConnection], Awaitable[None]]


@dataclass
class WSServer:
    """An in-process WebSocket peer; ``handler`` decides what it does per connection."""

    handler: SocketHandler | None = None
    server: Server | None = None
    paths: list[str] = field(default_factory=list)
    subprotocols: list[str | None] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = next(iter(self.server.sockets)).getsockname()[:2]
        return f"http://{host}:{port}"

    async def serve(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.paths.append(ws.request.path)
        self.subprotocols.append(ws.subprotocol)
        assert self.handler is not None
        await self.handler(ws)


def pick_subprotocol(ws: ServerConnection, offered: Any) -> Any:
    return offered[0] if offered else None


def output(data: str) -> str:
    return json.dumps({"type": "output", "data": data})


# --------------------------------------------------------------------------- the marker protocol
_PIECES = re.compile(r"printf '%s%s(?:%s)?\\n' '([^']+)' '([^']+)'")


def markers(frames: Sequence[str]) -> tuple[str, str]:
    """The begin and exit markers the frames print (each typed as two pieces)."""
    begin = _PIECES.search(frames[0])
    end = _PIECES.search(frames[2])
    assert begin and end
    return "".join(begin.groups()), "".join(end.groups())


def emulate(frames: Sequence[str], out: str, code: int) -> str:
    """What a login shell on a PTY prints for the three frames: banner, the
    echo of every typed line (before ``stty -echo`` took effect), then the run."""
    begin, end = markers(frames)
    echo = "".join(frames).replace("\n", "\r\n")
    return (
        "Welcome to your cage\r\n$ "
        + echo
        + begin
        + "\r\n"
        + out.replace("\n", "\r\n")
        + end
        + str(code)
        + "\r\nlogout\r\n"
    )


# --------------------------------------------------------------------------- MCP

TOOLS = [
    {
        "name": "filesystem_read",
        "description": "Read a file",
        "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
    {"name": "terminal_exec", "description": "Run a command", "inputSchema": {"type": "object"}},
]


class MCPPeer:
    """Answers like the platform's MCP server; records what it received."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.client_answers: list[dict[str, Any]] = []

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            return {
                "result": {
                    "protocolVersion": "2024-11-05",
                    "serverInfo": {"name": "caged-mcp", "version": "1"},
                    "capabilities": {"tools": {"listChanged": False}},
                }
            }
        if method == "tools/list":
            if params.get("cursor") == "page2":
                return {"result": {"tools": TOOLS[1:]}}
            return {"result": {"tools": TOOLS[:1], "nextCursor": "page2"}}
        if method == "tools/call":
            name, args = params["name"], params.get("arguments", {})
            if name == "terminal_exec":
                failed = args.get("command") == "false"
                return {
                    "result": {
                        "content": [
                            {"type": "text", "text": "ok\n" if not failed else "STDERR:\nboom"}
                        ],
                        **({"isError": True} if failed else {}),
                    }
                }
            return {"error": {"code": -32602, "message": f"unknown tool: {name}"}}
        if method == "ping":
            return {"result": {}}
        if method == "prompts/list":
            return {"result": {"prompts": [{"name": "review"}]}}
        if method == "prompts/get":
            return {"result": {"messages": [{"role": "user"}]}}
        if method == "resources/read":
            return {"result": {"contents": [{"uri": params["uri"], "text": "x"}]}}
        return {
            "error": {
                "code": -32601,
                "message": f"method not found: {method}",
                "data": {"method": method},
            }
        }

    async def __call__(self, ws: ServerConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if "method" not in message:
                self.client_answers.append(message)
                continue
            self.received.append(message)
            if "id" not in message:
                continue
            method = message["method"]
            if method == "tools/call" and message["params"]["name"] == "hang":
                continue
            if method == "tools/call" and message["params"]["name"] == "drop":
                ws.transport.abort()
                return
            if method == "tools/call" and message["params"]["name"] == "notify_me":
                await ws.send(
                    json.dumps({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
                )
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"}))
                await ws.send(
                    json.dumps(
                        {"jsonrpc": "2.0", "id": "srv-2", "method": "sampling/createMessage"}
                    )
                )
                await ws.send("not json")
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": 999, "result": {}}))
                await ws.send(
                    json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": {"content": []}})
                )
                continue
            reply = {
                "jsonrpc": "2.0",
                "id": message["id"],
                **self.answer(method, message.get("params") or {}),
            }
            await ws.send(json.dumps(reply))


# ------------------------------------------------------------------- a server on its own thread


class ThreadedWSServer:
    """A WebSocket server on a private event loop thread, for code that runs its
    own loop (``asyncio.run`` in the seed's examples)."""

    def __init__(self, handler: SocketHandler) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server: Server = asyncio.run_coroutine_threadsafe(
            self._start(handler), self.loop
        ).result()

    async def _start(self, handler: SocketHandler) -> Server:
        return await serve(handler, "127.0.0.1", 0, select_subprotocol=pick_subprotocol)

    @property
    def base_url(self) -> str:
        host, port = next(iter(self.server.sockets)).getsockname()[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        async def stop() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
