"""The terminal socket against an in-process WebSocket peer."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from client_fakes import SECRET, TICKET, FakeAPI, WSServer, make_client, output
from eventually import eventually_async
from websockets.asyncio.server import ServerConnection

from caged_core.client import AsyncCaged
from caged_core.errors import (
    CagedAuthError,
    CagedConnectionError,
    CagedNotFoundError,
    CagedTimeoutError,
)


async def echo_peer(ws: ServerConnection) -> None:
    """A terminal that greets, answers pings and echoes input back as output."""
    await ws.send(json.dumps({"type": "flow", "window": 65536}))
    await ws.send(output("welcome\r\n$ "))
    async for message in ws:
        frame = json.loads(message)
        if frame["type"] == "input":
            await ws.send(output(frame["data"]))
        elif frame["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif frame["type"] == "resize":
            await ws.send(output(f"[{frame['rows']}x{frame['cols']}]"))
        elif frame["type"] == "ack":
            await ws.send(output(f"[ack {frame['bytes']}]"))


async def collect_until(session: object, needle: str, *, limit: float = 5) -> str:
    seen = ""

    async def run() -> None:
        nonlocal seen
        async for chunk in session:  # type: ignore[attr-defined]
            seen += chunk
            if needle in seen:
                return

    await asyncio.wait_for(run(), limit)
    return seen


async def test_url_ticket_subprotocol(
    ws_client: AsyncCaged, ws_server: WSServer, api: FakeAPI
) -> None:
    ws_server.handler = echo_peer
    async with await ws_client.sandboxes.terminal("cage/1", rows=40, cols=120) as term:
        await collect_until(term, "$ ")
    url = urlsplit(ws_server.paths[0])
    assert url.path == "/v1/sandboxes/cage%2F1/terminal"
    assert parse_qs(url.query) == {"rows": ["40"], "cols": ["120"], "token": [TICKET]}
    assert ws_server.subprotocols == ["terminal"]
    assert api.requests[0].url.path == "/v1/auth/socket-ticket"


async def test_each_socket_gets_a_fresh_ticket(
    ws_client: AsyncCaged, ws_server: WSServer, api: FakeAPI
) -> None:
    ws_server.handler = echo_peer
    for _ in range(2):
        term = await ws_client.sandboxes.terminal("s")
        await term.close()
    assert [r.url.path for r in api.requests] == ["/v1/auth/socket-ticket"] * 2


async def test_ticket_404_falls_back_to_the_api_key(api: FakeAPI, ws_server: WSServer) -> None:
    ws_server.handler = echo_peer
    async with make_client(api, base_url=ws_server.base_url) as caged:  # no ticket route → 404
        term = await caged.sandboxes.terminal("s")
        await term.close()
    assert parse_qs(urlsplit(ws_server.paths[0]).query)["token"] == [SECRET]


async def test_other_ticket_errors_are_raised(api: FakeAPI, ws_server: WSServer) -> None:
    api.route(
        "POST", "/v1/auth/socket-ticket", httpx.Response(401, json={"error": "invalid API key"})
    )
    async with make_client(api, base_url=ws_server.base_url) as caged:
        with pytest.raises(CagedAuthError):
            await caged.sandboxes.terminal("s")
    assert ws_server.paths == []


async def test_send_iterate_resize_ping_ack(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    ws_server.handler = echo_peer
    term = await ws_client.sandboxes.terminal("s")
    assert "welcome" in await collect_until(term, "$ ")
    assert term.flow_window == 65536
    await term.send("ls -la\n")
    assert "ls -la\n" in await collect_until(term, "ls -la\n")
    await term.resize(40, 120)
    assert "[40x120]" in await collect_until(term, "[40x120]")
    assert await term.ping() >= 0
    await term.ack(100)  # below the interval (a quarter of 64 KiB): nothing sent
    await term.ack(16384)
    assert "[ack 16484]" in await collect_until(term, "[ack 16484]")
    await term.ack(1, force=True)
    assert "[ack 16485]" in await collect_until(term, "[ack 16485]")
    assert not term.closed
    await term.close()
    assert term.closed
    with pytest.raises(CagedConnectionError):
        await term.send("x")


async def test_on_output_callbacks_get_the_backlog_and_new_output(
    ws_client: AsyncCaged, ws_server: WSServer
) -> None:
    ws_server.handler = echo_peer
    term = await ws_client.sandboxes.terminal("s")
    # The banner is buffered before any callback exists (the backlog under test).
    await eventually_async(lambda: not term._queue.empty(), what="the banner, buffered")
    seen: list[str] = []
    got_ls = asyncio.Event()

    def on_output(data: str) -> None:
        seen.append(data)
        if "ls" in data:
            got_ls.set()

    term.on_output(on_output)
    await term.send("ls\n")
    await asyncio.wait_for(got_ls.wait(), 5)
    assert "".join(seen).startswith("welcome")
    await term.close()


async def test_async_callbacks_and_failing_callbacks(
    ws_client: AsyncCaged, ws_server: WSServer, caplog: pytest.LogCaptureFixture
) -> None:
    ws_server.handler = echo_peer
    term = await ws_client.sandboxes.terminal("s")
    got = asyncio.Event()

    async def async_cb(data: str) -> None:
        if "hi" in data:
            got.set()

    def bad_cb(data: str) -> None:
        raise ValueError("boom")

    term.on_output(bad_cb)
    term.on_output(async_cb)
    with caplog.at_level(logging.ERROR):
        await term.send("hi\n")
        await asyncio.wait_for(got.wait(), 5)
    assert "callback failed" in caplog.text
    await term.close()


async def test_iter_bytes_and_raw_frames(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def raw_peer(ws: ServerConnection) -> None:
        await ws.send("plain text frame")
        await ws.send("é".encode()[:1])  # a UTF-8 sequence split across binary frames
        await ws.send("é".encode()[1:] + b"!")
        await ws.send(json.dumps({"type": "unknown-extension", "x": 1}))
        await ws.send(json.dumps(["not", "a", "frame"]))
        await ws.close()

    ws_server.handler = raw_peer
    term = await ws_client.sandboxes.terminal("s")
    data = b"".join([chunk async for chunk in term.iter_bytes()])
    assert data == "plain text frameé!".encode() + b'["not", "a", "frame"]'
    assert term.closed and term.close_code == 1000


async def test_dropped_socket_ends_iteration(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def dropping_peer(ws: ServerConnection) -> None:
        await ws.send(output("partial"))
        ws.transport.abort()  # no close frame: a dropped connection

    ws_server.handler = dropping_peer
    term = await ws_client.sandboxes.terminal("s")
    chunks = await asyncio.wait_for(_drain(term), 5)
    assert chunks == ["partial"] and term.closed
    with pytest.raises(CagedConnectionError):
        await term.ping(timeout=1)
    assert await asyncio.wait_for(_drain(term), 1) == []  # iterating again ends at once


async def _drain(term: object) -> list[str]:
    return [c async for c in term]  # type: ignore[attr-defined]


async def test_close_codes_are_exposed(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def refusing_peer(ws: ServerConnection) -> None:
        await ws.close(4404, "unknown sandbox")

    ws_server.handler = refusing_peer
    term = await ws_client.sandboxes.terminal("nope")
    await asyncio.wait_for(term.wait_closed(), 5)
    assert await asyncio.wait_for(_drain(term), 5) == []
    assert (term.close_code, term.close_reason) == (4404, "unknown sandbox")


async def test_ping_timeout(ws_client: AsyncCaged, ws_server: WSServer) -> None:
    async def silent_peer(ws: ServerConnection) -> None:
        await ws.wait_closed()

    ws_server.handler = silent_peer
    term = await ws_client.sandboxes.terminal("s")
    with pytest.raises(CagedTimeoutError) as info:
        await term.ping(timeout=0.05)
    assert info.value.timeout == 0.05
    await term.close()


async def test_handshake_refusal_maps_status_and_hides_the_token(api: FakeAPI) -> None:
    from websockets.asyncio.server import serve
    from websockets.http11 import Request, Response

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(404, "sandbox not found\n")

    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET})
    async with serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, process_request=refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with make_client(api, base_url=f"http://127.0.0.1:{port}") as caged:
            with pytest.raises(CagedNotFoundError) as info:
                await caged.sandboxes.terminal("s")
    assert str(info.value) == "sandbox not found"
    assert TICKET not in _full_text(info.value)


async def test_unreachable_socket_hides_the_token(
    api: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    api.route("POST", "/v1/auth/socket-ticket", httpx.Response(404))
    async with make_client(api, base_url="http://127.0.0.1:9") as caged:
        with caplog.at_level(logging.DEBUG), pytest.raises(CagedConnectionError) as info:
            await caged.sandboxes.terminal("s")
    assert "token=***" in str(info.value)
    assert SECRET not in _full_text(info.value) and SECRET not in caplog.text


async def test_open_timeout_reports_the_budget(api: FakeAPI) -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET})
    try:
        async with make_client(api, base_url=f"http://127.0.0.1:{port}") as caged:
            with pytest.raises(CagedTimeoutError) as info:
                await caged.sandboxes.terminal("s", open_timeout=0.1)
    finally:
        server.close()
    assert info.value.timeout == 0.1 and TICKET not in _full_text(info.value)


def _full_text(error: BaseException) -> str:
    """Everything a traceback would print about ``error`` and its causes."""
    import traceback

    return "".join(traceback.format_exception(error))


async def test_debug_logs_never_show_the_ticket(
    ws_client: AsyncCaged, ws_server: WSServer, caplog: pytest.LogCaptureFixture
) -> None:
    ws_server.handler = echo_peer
    with caplog.at_level(logging.DEBUG):
        term = await ws_client.sandboxes.terminal("s")
        await collect_until(term, "$ ")
        await term.close()
    # Only the client's records: the fake server's own websockets logger shows the URL.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("caged_core"))
    assert "token=***" in ours  # websockets logged the request line, redacted
    assert TICKET not in ours
    assert repr(term) == "<TerminalSession s closed>"


async def test_handshake_retries_transient_refusals_with_fresh_tickets(api: FakeAPI) -> None:
    from websockets.asyncio.server import serve
    from websockets.http11 import Request, Response

    tokens: list[str] = []

    def flaky(connection: ServerConnection, request: Request) -> Response | None:
        tokens.append(parse_qs(urlsplit(request.path).query)["token"][0])
        return connection.respond(503, "warming up\n") if len(tokens) == 1 else None

    tickets = iter(["caged_wst_one", "caged_wst_two"])
    api.route(
        "POST",
        "/v1/auth/socket-ticket",
        lambda _r: httpx.Response(200, json={"ticket": next(tickets)}),
    )
    async with serve(echo_peer, "127.0.0.1", 0, process_request=flaky) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with make_client(api, base_url=f"http://127.0.0.1:{port}") as caged:
            term = await caged.sandboxes.terminal("s")
            await term.close()
    assert tokens == ["caged_wst_one", "caged_wst_two"]
    assert api.sleeps == [0.5]


async def test_handshake_refusal_is_not_retried(api: FakeAPI) -> None:
    from websockets.asyncio.server import serve
    from websockets.http11 import Request, Response

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(403, "read-only key\n")

    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET})
    async with serve(echo_peer, "127.0.0.1", 0, process_request=refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with make_client(api, base_url=f"http://127.0.0.1:{port}") as caged:
            with pytest.raises(CagedAuthError, match="read-only key"):
                await caged.sandboxes.terminal("s")
    assert api.sleeps == [] and len(api.requests) == 1


async def test_reconnecting_terminal_comes_back_after_a_drop(
    ws_client: AsyncCaged, ws_server: WSServer, api: FakeAPI
) -> None:
    connections = 0

    async def drops_once(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.send(output(f"session {connections}"))
        if connections == 1:
            ws.transport.abort()  # a drop: no close frame
        else:
            await ws.close(1000, "the shell exited")

    ws_server.handler = drops_once

    async def run() -> list[str]:
        seen = []
        async for term in ws_client.sandboxes.reconnecting_terminal("s"):
            seen.append("".join([chunk async for chunk in term]))
        return seen

    assert await asyncio.wait_for(run(), 10) == ["session 1", "session 2"]
    assert api.sleeps == [0.5]  # one quick drop → the first backoff step
    assert [r.url.path for r in api.requests].count("/v1/auth/socket-ticket") == 2


@pytest.mark.parametrize("code", [1001, 4404])
async def test_reconnecting_terminal_stops_on_purposeful_ends(
    ws_client: AsyncCaged, ws_server: WSServer, code: int
) -> None:
    async def ends(ws: ServerConnection) -> None:
        await ws.close(code)

    ws_server.handler = ends
    sessions = [t async for t in ws_client.sandboxes.reconnecting_terminal("s")]
    assert len(sessions) == 1 and not sessions[0].dropped


async def test_reconnecting_terminal_stops_when_the_caller_closes(
    ws_client: AsyncCaged, ws_server: WSServer
) -> None:
    ws_server.handler = echo_peer
    count = 0
    async for term in ws_client.sandboxes.reconnecting_terminal("s"):
        count += 1
        await term.close()
    assert count == 1 and not term.dropped
