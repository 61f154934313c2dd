"""Preview URLs for cages without host networking: a loopback TCP listener per (cage, port)
whose connections are spliced through the agent's ``forward`` op to ``127.0.0.1:<port>``
inside the cage."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .api import CageError
from .channel import AgentLink
from .netproxy import splice

log = logging.getLogger(__name__)


class PortForwarder:
    """``http://127.0.0.1:<ephemeral>/`` on the host → ``<port>`` inside one cage."""

    def __init__(self, link: AgentLink, port: int) -> None:
        self.link = link
        self.port = port
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        """Listen on an ephemeral loopback port; returns the URL."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        host_port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{host_port}/"
        return self.url

    async def close(self) -> None:
        """Stop accepting connections."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            agent_reader, agent_writer, _ = await self.link.open("forward", port=self.port)
        except CageError as err:
            log.info("preview of port %s refused: %s", self.port, err)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            return
        try:
            await splice((reader, writer), (agent_reader, agent_writer))
        except Exception:
            log.exception("preview connection to port %s failed", self.port)
