"""A test host of our own: a network namespace joined to this machine by a veth pair.

Cages have networks of their own and never reach the host's loopback, so a server a cage
should reach (a git remote, say) runs here instead: in a namespace this test run creates,
at an address on this machine — a stand-in for a server on the internet that sends no traffic
anywhere else.  Needs root (``ip netns``), as CI and ``./dev test`` have.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eventually import eventually

READY_TIMEOUT_S = 20.0


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class TestHost:
    """One namespace with an address; :meth:`serve` starts servers in it."""

    name: str
    address: str
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    __test__ = False  # not a pytest test class

    def serve(self, directory: Path, port: int = 8000) -> str:
        """Serve ``directory`` over plain HTTP from the host; returns its base URL."""
        server = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.name,
                sys.executable,
                "-m",
                "http.server",
                "--bind",
                self.address,
                "--directory",
                str(directory),
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.servers.append(server)

        def answering() -> bool:
            assert server.poll() is None, f"the test server in {self.name} exited"
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.address, port), timeout=1),
            ):
                return True
            return False

        eventually(answering, READY_TIMEOUT_S, what=f"the test server in {self.name}")
        return f"http://{self.address}:{port}"


@contextlib.contextmanager
def serving_host() -> Iterator[TestHost]:
    """A fresh namespace at ``10.251.N.2`` (its peer on the host is ``10.251.N.1``)."""
    if os.geteuid() != 0:
        pytest.fail("a test host needs root (ip netns); run the suite as root like CI")
    suffix = secrets.token_hex(3)
    name, outer, inner = f"cgt{suffix}", f"vh{suffix}", f"vn{suffix}"
    subnet = 4 * secrets.randbelow(64)  # a /30 in 10.251.N.0/24 per host, chosen at random
    net = secrets.randbelow(256)
    host_ip, peer_ip = f"10.251.{net}.{subnet + 1}", f"10.251.{net}.{subnet + 2}"
    _ip("netns", "add", name)
    host = TestHost(name, peer_ip)
    try:
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", name)
        _ip("addr", "add", f"{host_ip}/30", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("-n", name, "addr", "add", f"{peer_ip}/30", "dev", inner)
        _ip("-n", name, "link", "set", inner, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        yield host
    finally:
        for server in host.servers:
            server.kill()
            server.wait()
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", outer)
        _ip("netns", "del", name)
