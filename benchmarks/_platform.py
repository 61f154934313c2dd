"""The local platform the benchmarks talk to: a real server subprocess on a temp data dir.

It is started the way a user starts it (``python -m caged_platform serve``),
on a free loopback port, with a pinned key (``CAGED_API_KEY``), so nothing of
the user's own platform or keyring is touched. Everything created through it
is destroyed before it is stopped: sandboxes (bubblewrap cages) outlive the
server otherwise.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from caged_core.client import AsyncCaged

_BANNER = "Caged local platform listening on "
_START_TIMEOUT = 60.0


class LocalPlatform:
    """A running local platform: ``url``, ``api_key``, ``pid`` and helpers to reach it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="caged-bench-"))
        self.data_dir = self.root / "data"
        self.api_key = "caged_sk_bench_" + secrets.token_urlsafe(24)
        self.url = ""
        self._log = self.root / "platform.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._process is not None
        return self._process.pid

    @property
    def ws_url(self) -> str:
        """The WebSocket base URL (``ws://…``)."""
        return "ws" + self.url.removeprefix("http")

    def start(self) -> None:
        """Start the server and wait for its banner (the URL it listens on)."""
        with self._log.open("wb") as out:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "caged_platform",
                    "serve",
                    "--port",
                    "0",
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "CAGED_API_KEY": self.api_key},
            )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            for line in self._log.read_text(errors="replace").splitlines():
                if line.startswith(_BANNER):
                    self.url = line.removeprefix(_BANNER).strip()
                    self._wait_answering(deadline)
                    return
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the local platform did not start:\n{self.log_tail()}")

    def _wait_answering(self, deadline: float) -> None:
        # The socket is bound before the app has started; wait until routes answer.
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.url}/v1/account", headers=self.headers, timeout=5)
                return
            time.sleep(0.05)

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header for plain HTTP calls."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def client(self) -> AsyncCaged:
        """A fresh async client (bind it to the event loop that uses it)."""
        return AsyncCaged(api_key=self.api_key, base_url=self.url)

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's output, for error messages."""
        with contextlib.suppress(OSError):
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def destroy_all(self) -> None:
        """Destroy every sandbox still on the platform."""
        if self._process is None or self._process.poll() is not None:
            return
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=120) as http:
            for sandbox in http.get("/v1/sandboxes").json():
                http.delete(f"/v1/sandboxes/{sandbox['id']}")

    def stop(self) -> None:
        """Destroy what is left, stop the server (SIGTERM, then SIGKILL) and remove its dir."""
        try:
            self.destroy_all()
        finally:
            if self._process is not None and self._process.poll() is None:
                self._process.send_signal(signal.SIGTERM)
                try:
                    self._process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            shutil.rmtree(self.root, ignore_errors=True)
