"""A minimal SMTP server on loopback that keeps what it receives (imported by module name).

Just enough of RFC 5321 for ``smtplib``: greeting, EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT. ``fail_next`` answers that many MAIL commands with a transient 451.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message


@dataclass
class SmtpSink:
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    fail_next: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")

        rcpt: list[str] = []
        reply("220 sink ready")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                reply("250 sink")
            elif verb == b"MAIL":
                if self.fail_next > 0:
                    self.fail_next -= 1
                    reply("451 try again later")
                else:
                    rcpt = []
                    reply("250 ok")
            elif verb == b"RCPT":
                rcpt.append(line.decode().split(":", 1)[1].strip().strip("<>"))
                reply("250 ok")
            elif verb == b"DATA":
                reply("354 go ahead")
                await writer.drain()
                body = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append(message_from_bytes(body[: -len(b".\r\n")]))
                self.recipients.append(rcpt)
                reply("250 queued")
            elif verb == b"QUIT":
                reply("221 bye")
                await writer.drain()
                break
            else:  # RSET, NOOP and anything else smtplib may say
                reply("250 ok")
            await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def serve_smtp() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
