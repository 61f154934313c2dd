"""The connection guard on a real uvicorn server in this process (issue 10): silent and
half-open connections are closed once their head is overdue, and past the cap the oldest
idle one makes room for a newcomer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from caged_platform.http.connguard import guarded_protocol

CAP = 20
HEAD_TIMEOUT = 0.5


async def _ok(_: object) -> PlainTextResponse:
    return PlainTextResponse("ok")


@asynccontextmanager
async def _server(head_timeout: float) -> AsyncIterator[tuple[str, int]]:
    """A uvicorn server with the guard (cap :data:`CAP`), on a free loopback port."""
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        Starlette(routes=[Route("/", _ok)]),
        http=guarded_protocol(max_connections=CAP, head_timeout=head_timeout),
        log_level="warning",
        lifespan="off",
    )
    running = uvicorn.Server(config)
    # The socket already listens: clients wait in its backlog until the server accepts.
    task = asyncio.create_task(running.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[:2]
    finally:
        running.should_exit = True
        await task


async def _closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            return await reader.read() == b""
    except TimeoutError:
        return False


async def test_a_silent_or_trickling_connection_is_closed_when_its_head_is_overdue() -> None:
    async with _server(HEAD_TIMEOUT) as address:
        await _check_overdue_heads_are_closed(address)


async def _check_overdue_heads_are_closed(server: tuple[str, int]) -> None:
    silent_reader, silent = await asyncio.open_connection(*server)
    slow_reader, slow = await asyncio.open_connection(*server)
    # A byte now and then does not buy time (uvicorn's own keep-alive timer would reset):
    # the trickle goes on until the server closes it, which it never would if each byte
    # restarted the deadline.
    closed = asyncio.create_task(_closed_by_server(slow_reader, within=60))
    while not closed.done():
        slow.write(b"G")
        await asyncio.wait([closed], timeout=HEAD_TIMEOUT / 3)
    assert closed.result()
    assert await _closed_by_server(silent_reader, within=60)
    # The deadline is one for the head, not for the connection: a head sent in time is
    # answered.
    async with httpx.AsyncClient(base_url=f"http://{server[0]}:{server[1]}") as client:
        assert (await client.get("/", timeout=60)).text == "ok"
    for writer in (silent, slow):
        writer.close()


async def test_past_the_cap_the_oldest_idle_connection_makes_room() -> None:
    # A head timeout far beyond the test's length: only the cap closes anything here.
    async with _server(head_timeout=60) as (host, port):
        await _check_the_oldest_makes_room(host, port)


async def _check_the_oldest_makes_room(host: str, port: int) -> None:
    idle = [await asyncio.open_connection(host, port) for _ in range(CAP * 3)]
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            assert (await client.get("/", timeout=5)).text == "ok"
        # The oldest were closed to make room; the newest are still open.
        assert await _closed_by_server(idle[0][0], within=60)
        assert not await _closed_by_server(idle[-1][0], within=0.05)
    finally:
        for _, writer in idle:
            writer.close()
