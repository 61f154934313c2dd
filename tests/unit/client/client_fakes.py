"""Fakes shared by the client tests: an HTTP API behind ``httpx.MockTransport``
and an in-process WebSocket peer (fixtures in ``conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.server import Server, ServerConnection

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
