"""Fixtures for the client tests (the fakes themselves are in ``client_fakes.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_fakes import TICKET, FakeAPI, WSServer, make_client, pick_subprotocol
from websockets.asyncio.server import serve

from caged_core.client import AsyncCaged


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
async def client(api: FakeAPI) -> AsyncIterator[AsyncCaged]:
    async with make_client(api) as caged:
        yield caged


@pytest.fixture
async def ws_server() -> AsyncIterator[WSServer]:
    peer = WSServer()
    async with serve(peer.serve, "127.0.0.1", 0, select_subprotocol=pick_subprotocol) as server:
        peer.server = server
        yield peer


@pytest.fixture
async def ws_client(api: FakeAPI, ws_server: WSServer) -> AsyncIterator[AsyncCaged]:
    """A client whose HTTP goes to ``api`` (tickets) and sockets to ``ws_server``."""
    api.route("POST", "/v1/auth/socket-ticket", {"ticket": TICKET, "expires_in": 60})
    async with make_client(api, base_url=ws_server.base_url) as caged:
        yield caged
