"""Running the local platform: in the foreground, or as a background server the TUI finds.

One server per data dir. ``DATA_DIR/server.lock`` is held with ``flock`` for
as long as a server runs and records its pid and URL, so a second server
refuses to share the data dir and :func:`status` can tell a live server from
a stale file (a ``kill -9``-ed server leaves the file but not the lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import uvicorn

from caged_core.errors import CagedConfigError, CagedConnectionError, CagedError, RedactingFilter
from caged_core.locator import KEY_FILE_NAME, LOCK_FILE, ServerStatus, default_data_dir, status
from caged_platform.http.connguard import KEEP_ALIVE_TIMEOUT, guarded_protocol, raise_fd_limit
from caged_platform.http.server import create_app
from caged_platform.platform import PlatformConfig, max_sandboxes_from_env, smtp_from_env

__all__ = [
    "ServerStatus",
    "default_data_dir",
    "ensure_running",
    "serve",
    "status",
    "stop",
]

LOG_FILE = "server.log"
#: The WebSocket per-message limit of the contract.
WS_MAX_MESSAGE = 1024 * 1024
ENV_API_KEY = "CAGED_API_KEY"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hold_lock(data_dir: Path) -> IO[str]:
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 — held for the server's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        running = status(data_dir)
        raise CagedError(
            f"another local platform already uses {data_dir} (pid {running.pid}, {running.url})"
        ) from None
    return handle


def _record(handle: IO[str], url: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "url": url}))
    handle.flush()
    os.fsync(handle.fileno())


def _listening_socket(host: str, port: int, family: socket.AddressFamily) -> socket.socket:
    """A listening TCP socket whose accepted connections get ``TCP_NODELAY``.

    asyncio only disables Nagle on sockets whose ``proto`` is ``IPPROTO_TCP``;
    ``socket.create_server`` leaves it 0, and every response then stalled ~40 ms
    on Nagle plus the client's delayed ACK.
    """
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(socket.SOMAXCONN)
    except BaseException:
        sock.close()
        raise
    return sock


#: How long a thread holding the GIL runs before one waiting for it gets it (see serve).
SWITCH_INTERVAL = 0.0005


def _redact_logs() -> None:
    """Pass every log line of the server through the one redaction (uvicorn has just set
    up its own handlers; the root logger's are ``__main__``'s)."""
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(RedactingFilter())


class _Server(uvicorn.Server):
    """uvicorn's server, releasing held GETs (longpoll) as soon as it starts shutting
    down: it waits for requests in flight, which would otherwise answer only when their
    wait runs out."""

    def __init__(self, config: uvicorn.Config, *, release: Callable[[], None]) -> None:
        super().__init__(config)
        self._release = release

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._release()
        await super().shutdown(sockets)


def serve(host: str = "127.0.0.1", port: int = 0, data_dir: Path | None = None) -> int:
    """Run the platform in the foreground until SIGINT/SIGTERM; returns the exit code.

    The first line on stdout is ``Caged local platform listening on <url>``
    (``port=0`` picks a free port). ``CAGED_API_KEY``, when set, is accepted
    as a full-scope key; ``CAGED_SMTP_*`` enable email notifications
    (:func:`~caged_platform.platform.smtp_from_env`); ``CAGED_MAX_SANDBOXES`` caps
    the sandboxes live at once (default 20).
    """
    try:
        smtp = smtp_from_env(os.environ)
        max_sandboxes = max_sandboxes_from_env(os.environ)
    except CagedConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    data_dir = data_dir or default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        lock = _hold_lock(data_dir)
    except CagedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    max_connections = raise_fd_limit()
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # Bound before the app starts so that the URL is known (and printed) first;
        # clients connecting early simply wait in the backlog until startup is done.
        sock = _listening_socket(host, port, family)
        bound_port = sock.getsockname()[1]
        url = (
            f"http://[{host}]:{bound_port}"
            if family == socket.AF_INET6
            else (f"http://{host}:{bound_port}")
        )
        _record(lock, url)
        print(f"Caged local platform listening on {url}", flush=True)
        print(f"Data dir: {data_dir}", flush=True)
        if not _is_loopback(host):
            print(
                f"WARNING: listening on {host}, which is not loopback: anyone who can reach "
                "this machine and holds a key can run commands in your sandboxes",
                file=sys.stderr,
                flush=True,
            )
        config = PlatformConfig(
            data_dir=data_dir,
            pinned_key=os.environ.get(ENV_API_KEY) or None,
            smtp=smtp,
            max_sandboxes=max_sandboxes,
        )
        app = create_app(config)
        # What start-up built (modules, models' schemas: ~50,000 objects) lives as long as
        # the server: frozen, full collections no longer walk it. Ingest's allocations set
        # one off every few batches, and each took ~33 ms of the server's CPU walking it.
        gc.freeze()
        # sqlite3 lets go of the GIL around every row it steps, and takes it back only when
        # the thread holding it yields: by default after 5 ms. While the event loop parses
        # one request, a database thread storing another's 1000 rows waited up to that per
        # row; 0.5 ms keeps the writers moving (8 concurrent ingest clients: ~+25 %).
        sys.setswitchinterval(SWITCH_INTERVAL)
        server = _Server(
            uvicorn.Config(
                app,
                # Silent and half-open connections must not starve the others.
                http=guarded_protocol(max_connections=max_connections),
                timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
                log_level="warning",
                ws_max_size=WS_MAX_MESSAGE,
                server_header=False,
                proxy_headers=False,
            ),
            release=app.state.holds.changes.close,
        )
        _redact_logs()
        server.run(sockets=[sock])
        return 0
    finally:
        with contextlib.suppress(OSError):
            lock.seek(0)
            lock.truncate()
        lock.close()


def stop(data_dir: Path | None = None, *, timeout: float = 15.0) -> bool:
    """Stop the server of ``data_dir`` (SIGTERM, then SIGKILL); False if none was running."""
    current = status(data_dir)
    if not current.running or current.pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(current.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not status(data_dir).running:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(current.pid, signal.SIGKILL)
    return True


def _read_key(data_dir: Path) -> str:
    pinned = os.environ.get(ENV_API_KEY)
    if pinned:
        return pinned
    try:
        return (data_dir / KEY_FILE_NAME).read_text().strip()
    except FileNotFoundError:
        raise CagedConfigError(
            f"the local platform's key file {data_dir / KEY_FILE_NAME} is missing; "
            f"create a key and set {ENV_API_KEY}, or start over with a new data dir"
        ) from None


def _answers(url: str) -> bool:
    """Whether the server at ``url`` answers HTTP yet (any status: it is up)."""
    try:
        httpx.get(f"{url}/v1/account", timeout=5.0)
    except httpx.HTTPError:
        return False
    return True


def _log_tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def ensure_running(data_dir: Path | None = None, *, timeout: float = 30.0) -> tuple[str, str]:
    """The ``(url, api_key)`` of the platform for ``data_dir``, starting it if needed.

    A server started here runs detached (``python -m caged_platform serve``,
    its own session, output in ``DATA_DIR/server.log``) and outlives the caller.
    Raises :class:`~caged_core.errors.CagedConnectionError` if it does not come up, and
    :class:`~caged_core.errors.CagedConfigError` if its key file is gone.
    """
    data_dir = data_dir or default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    child: subprocess.Popen[bytes] | None = None
    if not status(data_dir).running:
        with open(data_dir / LOG_FILE, "ab") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "caged_platform", "serve", "--data-dir", str(data_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = status(data_dir)
        if current.running and current.url and _answers(current.url):
            return current.url, _read_key(data_dir)
        if child is not None and child.poll() is not None and not current.running:
            break
        time.sleep(0.2)
    raise CagedConnectionError(
        f"the local platform did not start within {timeout:g} s; "
        f"last lines of {data_dir / LOG_FILE}:\n{_log_tail(data_dir / LOG_FILE)}"
    )
