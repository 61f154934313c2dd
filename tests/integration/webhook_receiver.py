"""A webhook receiver on loopback for the integration tests (imported by module name: this
directory is on sys.path, as the directory of a conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from eventually import eventually_async
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Receiver:
    """What each path of the webhook receiver got, and how it should answer.

    ``failures[path]`` answers that many requests with HTTP 500 before succeeding;
    ``rate_limited[path]`` that many with 429 and ``Retry-After: 1``; ``status[path]``
    answers every request with that status. ``received`` holds the messages taken,
    ``bodies`` every attempt's (so a test can count the attempts of its own alert when a
    shared platform delivers others to the same webhook meanwhile).
    """

    url: str = ""
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    bodies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.attempts[path] = self.attempts.get(path, 0) + 1
        body = await request.json()
        self.bodies.setdefault(path, []).append(body)
        if self.failures.get(path, 0) > 0:
            self.failures[path] -= 1
            return JSONResponse({"error": "try again"}, status_code=500)
        if self.rate_limited.get(path, 0) > 0:
            self.rate_limited[path] -= 1
            return Response("slow down", status_code=429, headers={"Retry-After": "1"})
        if path in self.status:
            return Response("no such webhook", status_code=self.status[path])
        self.received.setdefault(path, []).append(body)
        # Slack answers "ok" as text; Discord 204 — both are success.
        return Response("ok", media_type="text/plain")


@contextlib.asynccontextmanager
async def serve_receiver() -> AsyncIterator[Receiver]:
    """A real HTTP server (Starlette under uvicorn) on 127.0.0.1, port 0."""
    state = Receiver()
    app = Starlette(routes=[Route("/{path:path}", state.handle, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually_async(lambda: server.started, what="the webhook receiver to start")
        yield state
    finally:
        server.should_exit = True
        await task
        sock.close()
