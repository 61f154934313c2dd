"""The host side of the agent protocol keeps connections between requests, and still runs
each request exactly once when an agent (one of an older version) closes them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from caged_platform.runtime.agent import encode_line
from caged_platform.runtime.channel import AgentLink


class FakeAgent:
    """Answers ``ping`` like an agent: keeping the connection (version 2) or closing it
    after each answer (version 1). Counts connections and requests."""

    def __init__(self, *, keeps_connections: bool) -> None:
        self.keeps_connections = keeps_connections
        self.connections = 0
        self.requests: list[str] = []
        self.open: list[asyncio.StreamWriter] = []

    def hang_up(self) -> None:
        """Close every connection, as an agent that exits does."""
        for writer in self.open:
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.append(writer)
        try:
            while line := await reader.readline():
                self.requests.append(json.loads(line)["op"])
                writer.write(encode_line({"ok": True, "n": len(self.requests)}))
                await writer.drain()
                if not self.keeps_connections:
                    break
        finally:
            writer.close()


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "agent.sock"


@pytest.mark.parametrize("keeps_connections", [True, False])
async def test_each_request_runs_once_over_kept_or_closed_connections(
    socket_path: Path, keeps_connections: bool
) -> None:
    agent = FakeAgent(keeps_connections=keeps_connections)
    server = await asyncio.start_unix_server(agent.serve, path=str(socket_path))
    link = AgentLink(str(socket_path))
    try:
        answers = []
        for _ in range(3):
            answers.append((await link.call("ping"))["n"])
        assert answers == [1, 2, 3]
        assert agent.requests == ["ping", "ping", "ping"]
        assert agent.connections == (1 if keeps_connections else 3)
    finally:
        link.close()
        server.close()
        await server.wait_closed()


async def test_a_connection_closed_while_idle_is_replaced_without_repeating(
    socket_path: Path,
) -> None:
    agent = FakeAgent(keeps_connections=True)
    server = await asyncio.start_unix_server(agent.serve, path=str(socket_path))
    link = AgentLink(str(socket_path))
    try:
        await link.call("ping")
        # The agent hangs up between requests: the kept connection is dead, and the next
        # request goes through a new one, once.
        agent.hang_up()
        assert (await link.call("ping"))["n"] == 2
        assert agent.requests == ["ping", "ping"]
        assert agent.connections == 2
    finally:
        link.close()
        server.close()
        await server.wait_closed()
