"""A held request (a long-poll, caged_platform/http/longpoll.py) is not an idle connection
to the guard (caged_platform/http/connguard.py): its head has arrived, so neither the
head deadline nor the cap closes it, however long it waits for its answer."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from caged_platform.http.connguard import guarded_protocol

CAP = 8
HEAD_TIMEOUT = 0.5


async def test_a_held_request_outlives_the_head_deadline_and_the_cap() -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def held(_: Request) -> PlainTextResponse:
        entered.set()
        await release.wait()
        return PlainTextResponse("changed")

    sock = socket.create_server(("127.0.0.1", 0))
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        Starlette(routes=[Route("/held", held)]),
        http=guarded_protocol(max_connections=CAP, head_timeout=HEAD_TIMEOUT),
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60) as client:
            answer = asyncio.ensure_future(client.get("/held"))
            await asyncio.wait_for(entered.wait(), 60)
            # Silent connections opened after it: past the cap (the oldest idle ones make
            # room), and closed by the head deadline — which has then passed for the held
            # request too, had it counted.
            silent = [await asyncio.open_connection(host, port) for _ in range(CAP * 2)]
            for reader, _ in silent:
                assert await asyncio.wait_for(reader.read(), 60) == b""
            assert not answer.done()
            release.set()
            assert (await answer).text == "changed"
            for _, writer in silent:
                writer.close()
    finally:
        server.should_exit = True
        await serving
