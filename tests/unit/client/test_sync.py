"""The blocking ``Caged`` facade: same names, one private loop, usable anywhere."""

from __future__ import annotations

import asyncio
import inspect
import json

import httpx
import pytest
from client_fakes import SECRET, TICKET, FakeAPI, MCPPeer, ThreadedWSServer, output
from websockets.asyncio.server import ServerConnection

from caged_core import AsyncCaged, Caged, CagedNotFoundError
from caged_core.client import Page, RetryPolicy, TerminalSession
from caged_core.client._resource import Resource
from caged_core.client._sync import _SyncResource


def make_sync(api: FakeAPI, base_url: str = "https://api.test") -> Caged:
    return Caged(
        api_key=SECRET,
        base_url=base_url,
        retry=RetryPolicy(sleep=api.sleep),
        transport=httpx.MockTransport(api),
    )


def test_calls_block_outside_any_loop(api: FakeAPI) -> None:
    api.route("GET", "/v1/sandboxes", [{"id": "cage-1", "status": "running"}])
    api.route("GET", "/v1/sandboxes/none", httpx.Response(404, json={"error": "not found"}))
    with make_sync(api) as caged:
        assert [s.id for s in caged.sandboxes.list()] == ["cage-1"]
        with pytest.raises(CagedNotFoundError, match="not found"):
            caged.sandboxes.get("none")
        assert "open" in repr(caged) and SECRET not in repr(caged)
        assert caged.base_url == "https://api.test"
        assert repr(caged.sandboxes) == "<sync <Sandboxes of https://api.test>>"
    assert caged.is_closed and "closed" in repr(caged)
    with pytest.raises(RuntimeError, match="closed"):
        caged.sandboxes.list()
    caged.close()  # twice is fine


async def test_calls_work_inside_a_running_loop(api: FakeAPI) -> None:
    api.route("GET", "/v1/account", {"id": "acct-1"})
    caged = make_sync(api)
    try:
        assert caged.account.get().id == "acct-1"  # blocks this loop briefly, but works
    finally:
        caged.close()


def test_replay_pages_ticket_rate_limit(api: FakeAPI) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after_seq", "0"))
        events = [{"id": f"e{after + 1}", "sequence": after + 1, "type": "command"}]
        return httpx.Response(
            200,
            json={"events": events, "has_more": after < 2, "next_seq": after + 1},
            headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "10"},
        )

    api.route("GET", "/v1/sessions/s/replay", pages)
    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET})
    with make_sync(api) as caged:
        events = caged.sessions.replay("s")
        assert isinstance(events, Page) and [e.sequence for e in events.items] == [1]
        assert [e.sequence for e in events] == [1, 2, 3]
        assert caged.rate_limit.remaining == 10
        assert caged.socket_ticket().ticket == TICKET
        assert isinstance(caged.async_client, AsyncCaged)


def test_every_async_method_has_a_sync_twin() -> None:
    caged_async = AsyncCaged(api_key=SECRET, base_url="https://api.test")
    with Caged(api_key=SECRET, base_url="https://api.test") as caged:
        for name, resource in vars(caged_async).items():
            if not isinstance(resource, Resource):
                continue
            wrapper = getattr(caged, name)
            assert isinstance(wrapper, _SyncResource)
            public = {m for m in dir(resource) if not m.startswith("_")}
            assert public == {m for m in dir(wrapper) if not m.startswith("_")}, name
            for method in public:
                assert getattr(type(wrapper), method).__doc__ == getattr(resource, method).__doc__


def test_socket_methods_return_awaitables(api: FakeAPI) -> None:
    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            frame = json.loads(message)
            if frame["type"] == "input":
                await ws.send(output(frame["data"]))

    server = ThreadedWSServer(echo)
    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET})
    try:
        with make_sync(api, base_url=server.base_url) as caged:
            opening = caged.sandboxes.terminal("s")
            assert inspect.isawaitable(opening)

            async def main() -> str:
                terminal = await opening
                assert isinstance(terminal, TerminalSession)
                await terminal.send("hello\n")
                chunk = await asyncio.wait_for(anext(terminal), 5)
                await terminal.close()
                return chunk

            assert asyncio.run(main()) == "hello\n"
    finally:
        server.close()
    assert api.last.url.path == "/v1/auth/socket-ticket"


def test_mcp_through_the_facade(api: FakeAPI) -> None:
    server = ThreadedWSServer(MCPPeer())
    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET})
    try:
        with make_sync(api, base_url=server.base_url) as caged:

            async def main() -> list[str]:
                mcp = await caged.sandboxes.mcp("s")
                names = [tool.name for tool in await mcp.list_tools()]
                await mcp.close()
                return names

            assert asyncio.run(main()) == ["filesystem_read", "terminal_exec"]
    finally:
        server.close()


def test_garbage_collection_stops_the_private_loop(api: FakeAPI) -> None:
    import gc

    caged = make_sync(api)
    thread = caged._portal._thread
    assert thread.is_alive()
    del caged
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
