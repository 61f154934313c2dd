"""Network modes: none, allowlist through the filtering proxy, and preview URLs."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from eventually import eventually_async
from nethost import serving_host
from runtime_helpers import SKIP_WITHOUT_BWRAP, StartCage

from caged_platform.runtime.manager import LocalRuntime

pytestmark = [pytest.mark.integration, pytest.mark.needs_bwrap, SKIP_WITHOUT_BWRAP]


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello from the host, path={self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def remote_http_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A plain HTTP server on a test host (not this machine's loopback, which no cage may
    reach); yields its address and port.  ``/x`` and ``/t`` name themselves."""
    for name in ("x", "t"):
        (tmp_path / name).write_text(f"hello from the host, path=/{name}")
    with serving_host() as host:
        host.serve(tmp_path, 8080)
        yield host.address, 8080


async def test_no_cage_reaches_a_host_loopback_listener_but_full_has_its_own_network(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    probe = (
        f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2);"
        " print('connected')\" 2>&1 | tail -1"
    )
    try:
        caged = await start_cage(network_mode="none")
        full = await start_cage(network_mode="full")
        for sid in (caged, full):
            refused = await runtime.exec(sid, probe)
            assert "connected" not in refused.output
            assert "Connection refused" in refused.output or "unreachable" in refused.output
        # A network namespace of its own: the host's ports are not the cage's, and previews
        # go through a forwarder to the cage's own loopback.
        assert port not in await runtime.listening_ports(full)
        assert await runtime.preview_url(full, 4321) != "http://127.0.0.1:4321/"
        devices = await runtime.exec(full, "tail -n +3 /proc/net/dev | cut -d: -f1")
        assert sorted(devices.output.split()) == ["lo", "tap0"]
        interfaces = await runtime.exec(caged, "tail -n +3 /proc/net/dev | cut -d: -f1")
        assert interfaces.output.split() == ["lo"]
        # Its own loopback is its own: even port 80 is free to bind there.
        bind80 = (
            "python3 -c \"import socket; socket.create_server(('127.0.0.1', 80)); print('ok')\""
        )
        assert (await runtime.exec(caged, bind80)).output == "ok\n"
    finally:
        listener.close()


async def test_allowlist_admits_listed_hosts_only(
    runtime: LocalRuntime, start_cage: StartCage, remote_http_server: tuple[str, int]
) -> None:
    address, port = remote_http_server
    refused: list[tuple[str, str]] = []
    runtime.on_network_refused(lambda sid, host: refused.append((sid, host)))
    sid = await start_cage(network_mode="allowlist", allowlist=(f"{address}:{port}",))
    curl = "NO_PROXY= no_proxy= curl -s -m 5 -o - -w ' status=%{http_code}' "

    allowed = await runtime.exec(sid, curl + f"http://{address}:{port}/x")
    assert allowed.output == "hello from the host, path=/x status=200", allowed.output

    tunnelled = await runtime.exec(sid, curl + f"--proxytunnel http://{address}:{port}/t")
    assert tunnelled.output == "hello from the host, path=/t status=200", tunnelled.output

    denied = await runtime.exec(sid, curl + f"http://localhost:{port}/x")
    assert denied.output.endswith("status=403"), denied.output
    assert "not on this sandbox's network allowlist" in denied.output
    assert (sid, "localhost") in refused

    urllib_denied = await runtime.exec(
        sid,
        'NO_PROXY= no_proxy= python3 -c "import urllib.request as u\n'
        f"try: u.urlopen('http://localhost:{port}/', timeout=5)\n"
        "except Exception as e: print(getattr(e, 'code', e))\"",
    )
    assert urllib_denied.output.strip() == "403"

    # A tunnel to an allowed host cannot carry a TLS handshake for another one (SNI).
    sni = await runtime.exec(
        sid,
        "python3 - <<'EOF'\n"
        "import socket, ssl\n"
        "s = socket.create_connection(('127.0.0.1', 3128), timeout=5)\n"
        f"s.sendall(b'CONNECT {address}:{port} HTTP/1.1\\r\\n\\r\\n')\n"
        "print(s.recv(100).split(b'\\r\\n')[0].decode())\n"
        "try:\n"
        "    ssl.create_default_context().wrap_socket(s, server_hostname='evil.test')\n"
        "except (OSError, ssl.SSLError) as e:\n"
        "    print('handshake failed')\n"
        "EOF",
    )
    assert sni.output == "HTTP/1.1 200 Connection established\nhandshake failed\n", sni.output
    assert (sid, "evil.test") in refused

    # Without the proxy there is no way out at all.
    direct = await runtime.exec(sid, f"curl -s -m 3 --noproxy '*' http://{address}:{port}/")
    assert direct.exit_code != 0


async def test_allowlisted_names_of_this_machine_are_still_refused(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    """An allowlist entry that resolves to the host (``localhost``, a rebinding DNS name,
    ``127.0.0.1``) must not hand the cage the host's loopback, where the platform listens."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        sid = await start_cage(
            network_mode="allowlist",
            allowlist=(f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"),
        )
        for target in ("localhost", "127.0.0.1"):
            answer = await runtime.exec(
                sid,
                "NO_PROXY= no_proxy= curl -s -m 5 -o - -w ' status=%{http_code}' "
                f"http://{target}:{port}/",
            )
            assert answer.output.endswith("status=403"), answer.output
            assert "resolves to this machine" in answer.output
    finally:
        listener.close()


async def test_preview_url_reaches_a_server_inside_a_none_cage(
    runtime: LocalRuntime, start_cage: StartCage
) -> None:
    sid = await start_cage(network_mode="none")
    await runtime.exec(
        sid,
        "echo served-from-the-cage > index.html;"
        " nohup python3 -m http.server 8000 --bind 127.0.0.1 > /dev/null 2>&1 &",
    )

    async def listening() -> bool:
        return 8000 in await runtime.listening_ports(sid)

    await eventually_async(listening)
    url = await runtime.preview_url(sid, 8000)
    assert url.startswith("http://127.0.0.1:") and not url.startswith("http://127.0.0.1:8000/")
    assert await runtime.preview_url(sid, 8000) == url  # cached

    def fetch() -> str:
        with urllib.request.urlopen(url + "index.html", timeout=5) as response:
            return str(response.read().decode())

    assert (await asyncio.to_thread(fetch)).strip() == "served-from-the-cage"
