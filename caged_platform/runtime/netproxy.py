"""The host side of ``allowlist`` networking: a filtering HTTP proxy on a Unix socket.

An ``allowlist`` cage has no network namespace of its own but loopback.  Its agent listens on
``127.0.0.1:3128`` inside the cage and hops each connection to ``run/proxy.sock``, where this
proxy decides: ``CONNECT host:port`` by its host, plain HTTP by its absolute-form target or
``Host`` header, and after a CONNECT the TLS ClientHello's SNI (so a tunnel opened to an allowed
host cannot carry a handshake for another).  Refusals answer 403 and call the registered
``on_refused(sandbox_id, host)`` callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MAX_HEAD = 64 * 1024
HEAD_TIMEOUT_S = 30.0
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class AllowRule:
    """One allowlist entry: ``host``, ``host:port``, ``*.domain`` or ``*.domain:port``."""

    host: str
    port: int | None
    wildcard: bool

    @classmethod
    def parse(cls, entry: str) -> AllowRule:
        """Parse one allowlist entry (a URL is reduced to its host and port)."""
        text = entry.strip().lower()
        if "://" in text:  # tolerate "https://example.com/..."
            parts = urlsplit(text)
            text = parts.netloc
        port: int | None = None
        if text.startswith("["):  # [v6]:port
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":") and rest[1:].isdigit():
                port = int(rest[1:])
        elif text.count(":") == 1:
            host, _, port_text = text.partition(":")
            if port_text.isdigit():
                port = int(port_text)
        else:
            host = text
        host = host.rstrip(".")
        wildcard = host.startswith("*.")
        return cls(host[2:] if wildcard else host, port, wildcard)

    def allows(self, host: str, port: int) -> bool:
        """Does this rule (or list) admit ``host`` on ``port``?"""
        if self.port is not None and self.port != port:
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host


def _is_host_internal(address: str) -> bool:
    """Loopback, link-local, unspecified or multicast: never a sandbox's destination."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast


def normalize_host(host: str) -> str:
    """Lower-case, without brackets or a trailing dot."""
    return host.strip().lower().strip("[]").rstrip(".")


class Allowlist:
    """The parsed allowlist of one cage."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.rules = [AllowRule.parse(e) for e in entries if e.strip()]

    def allows(self, host: str, port: int) -> bool:
        """Does this rule (or list) admit ``host`` on ``port``?"""
        host = normalize_host(host)
        return any(rule.allows(host, port) for rule in self.rules)


def _split_host_port(authority: str, default_port: int) -> tuple[str, int]:
    authority = authority.strip()
    if authority.startswith("["):
        host, _, rest = authority[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif authority.count(":") == 1:
        host, _, port_text = authority.partition(":")
    else:
        host, port_text = authority, ""
    port = int(port_text) if port_text.isdigit() else default_port
    return host, port


def tls_sni(record: bytes) -> str | None:
    """The server name of a TLS ClientHello record, when it carries one."""
    try:
        if len(record) < 5 or record[0] != 0x16:
            return None
        pos = 5
        if record[pos] != 0x01:  # handshake type: ClientHello
            return None
        pos += 4 + 2 + 32  # handshake header, client version, random
        pos += 1 + record[pos]  # session id
        (suites,) = struct.unpack_from(">H", record, pos)
        pos += 2 + suites
        pos += 1 + record[pos]  # compression methods
        (ext_total,) = struct.unpack_from(">H", record, pos)
        pos += 2
        end = min(len(record), pos + ext_total)
        while pos + 4 <= end:
            ext_type, ext_len = struct.unpack_from(">HH", record, pos)
            pos += 4
            if ext_type == 0:  # server_name
                # list length (2), name type (1), name length (2), name
                (name_len,) = struct.unpack_from(">H", record, pos + 3)
                return record[pos + 5 : pos + 5 + name_len].decode("ascii", "replace")
            pos += ext_len
    except (IndexError, struct.error):
        return None
    return None


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF with backpressure (``drain``), then pass the half-close on."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Both directions until both are done, then close both writers."""
    try:
        await asyncio.gather(pipe(a[0], b[1]), pipe(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class AllowlistProxy:
    """One cage's filtering proxy, serving the cage's ``proxy.sock``."""

    def __init__(
        self,
        sandbox_id: str,
        allowlist: Sequence[str],
        on_refused: Callable[[str, str], None],
    ) -> None:
        self.sandbox_id = sandbox_id
        self.allowlist = Allowlist(allowlist)
        self._on_refused = on_refused
        self._server: asyncio.Server | None = None

    async def start(self, socket_path: str) -> None:
        """Serve the cage's proxy socket at ``socket_path``."""
        self._server = await asyncio.start_unix_server(self._handle, path=socket_path)

    async def close(self) -> None:
        """Stop accepting connections."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _refuse(self, writer: asyncio.StreamWriter, host: str, why: str) -> None:
        body = f"{host} is not on this sandbox's network allowlist ({why})\n".encode()
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        writer.close()
        try:
            self._on_refused(self.sandbox_id, host)
        except Exception:  # a broken callback must not break the proxy
            log.exception("on_network_refused callback failed")

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: str) -> None:
        writer.write(
            f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".encode()
        )
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as err:
            log.debug("allowlist proxy connection ended: %r", err)
        except Exception:
            log.exception("allowlist proxy connection failed")
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(HEAD_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
        ):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            await self._answer(writer, "400 Bad Request")
            return
        if method.upper() == "CONNECT":
            host, port = _split_host_port(target, 443)
            if not self.allowlist.allows(host, port):
                await self._refuse(writer, normalize_host(host), "CONNECT")
                return
            await self._tunnel(reader, writer, host, port)
        else:
            await self._forward(reader, writer, method, target, version, lines[1:])

    async def _connect(
        self, writer: asyncio.StreamWriter, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Connect to an allowed host — at an address resolved once and checked: a name on
        the allowlist that resolves to this machine (DNS rebinding, ``localhost``) would
        otherwise hand the cage the host's loopback, the platform's API among it."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(15.0):
                infos = await loop.getaddrinfo(normalize_host(host), port, type=socket.SOCK_STREAM)
                addresses = [str(info[4][0]) for info in infos]
                usable = [a for a in addresses if not _is_host_internal(a)]
                if not usable:
                    await self._refuse(writer, normalize_host(host), "resolves to this machine")
                    return None
                return await asyncio.open_connection(usable[0], port)
        except (OSError, TimeoutError) as err:
            log.info("allowlist proxy: %s:%s unreachable: %s", host, port, err)
            await self._answer(writer, "502 Bad Gateway")
            return None

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
    ) -> None:
        upstream = await self._connect(writer, host, port)
        if upstream is None:
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        # Peek the first record: a TLS ClientHello names the server it really wants.
        first = b""
        with contextlib.suppress(TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            async with asyncio.timeout(10.0):
                first = await reader.readexactly(5)
                if first[0] == 0x16:
                    (length,) = struct.unpack(">H", first[3:5])
                    first += await reader.readexactly(min(length, 16 * 1024 + 256))
        sni = tls_sni(first)
        if sni is not None and not self.allowlist.allows(sni, port):
            upstream[1].close()
            writer.close()
            try:
                self._on_refused(self.sandbox_id, normalize_host(sni))
            except Exception:
                log.exception("on_network_refused callback failed")
            return
        if first:
            upstream[1].write(first)
        await splice((reader, writer), upstream)

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        version: str,
        header_lines: list[str],
    ) -> None:
        headers = [h for h in header_lines if h]
        host_header = next(
            (h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("host:")), ""
        )
        path = target
        if "://" in target:
            parts = urlsplit(target)
            authority = parts.netloc
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            default_port = 443 if parts.scheme == "https" else 80
        else:
            authority = host_header
            default_port = 80
        host, port = _split_host_port(authority, default_port)
        if not host:
            await self._answer(writer, "400 Bad Request")
            return
        if not self.allowlist.allows(host, port):
            await self._refuse(writer, normalize_host(host), "HTTP")
            return
        upstream = await self._connect(writer, host, port)
        if upstream is None:
            return
        # One request per upstream connection: a kept-alive connection could otherwise carry
        # the next request to a host nobody checked.
        kept = [
            h
            for h in headers
            if h.split(":", 1)[0].strip().lower()
            not in {"connection", "proxy-connection", "keep-alive", "proxy-authorization"}
        ]
        rewritten = "\r\n".join([f"{method} {path} {version}", *kept, "Connection: close"])
        upstream[1].write(rewritten.encode("latin-1") + b"\r\n\r\n")
        await splice((reader, writer), upstream)
