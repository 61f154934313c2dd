"""The real local platform, for every integration test.

``platform`` (session scope) starts ``python -m caged_platform serve`` as a
subprocess on 127.0.0.1, port 0, with a temporary data dir and a pinned key
(``CAGED_API_KEY``), parses the URL it prints, and stops it in ``finally``.
Tests talk to it over real loopback HTTP and WebSockets.
"""

from __future__ import annotations

import os
import resource
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from eventually import eventually

_BANNER = "Caged local platform listening on "
_START_TIMEOUT = 30.0


@dataclass
class RunningPlatform:
    """A platform subprocess: where it listens, its key, its data dir.

    ``restart()`` stops it (``kill=True``: SIGKILL, as a crash would) and
    starts it again on the same data dir and port, so ``url`` stays valid.
    """

    data_dir: Path
    api_key: str
    url: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: Extra environment of the server process (on top of this one's and CAGED_API_KEY).
    env: dict[str, str] = field(default_factory=dict)
    #: The server's soft limit on open files (None: inherited from this process).
    open_files: int | None = None

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def output(self) -> Path:
        return self.data_dir.parent / "platform-output.log"

    def start(self, port: int = 0) -> None:
        with self.output.open("ab") as out:
            offset = out.tell()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "caged_platform",
                    "serve",
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    str(port),
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "CAGED_API_KEY": self.api_key, **self.env},
                preexec_fn=self._limit_open_files,
            )
        process = self.process

        def announced() -> str | None:
            with self.output.open("rb") as out:
                out.seek(offset)
                for line in out.read().decode(errors="replace").splitlines():
                    if line.startswith(_BANNER):
                        return line.removeprefix(_BANNER).strip()
            if process.poll() is not None:
                raise RuntimeError(f"the platform exited:\n{self.output.read_text()[-3000:]}")
            return None

        try:
            self.url = eventually(announced, _START_TIMEOUT, what="the platform's banner")
        except AssertionError as never:
            tail = self.output.read_text()[-3000:]
            raise RuntimeError(f"the platform did not start:\n{tail}") from never

    def _limit_open_files(self) -> None:
        """In the server's process, before it runs: apply :attr:`open_files`."""
        if self.open_files is not None:
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, hard))

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, *, kill: bool = False) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        self.stop(kill=kill)
        self.start(port)

    def tracebacks(self) -> list[str]:
        """The tracebacks the server printed so far, each with the lines that led to it."""
        lines = self.output.read_text(errors="replace").splitlines()
        return [
            "\n".join(lines[max(0, i - 2) : i + 30])
            for i, line in enumerate(lines)
            if line.startswith("Traceback (most recent call last)")
        ]


@contextmanager
def running_platform(
    root: Path, *, open_files: int | None = None, **env: str
) -> Iterator[RunningPlatform]:
    """A platform on a data dir under ``root`` with ``env`` added to its environment (and
    ``open_files`` as its soft open-files limit), stopped (its sandboxes destroyed) at the
    end and checked for tracebacks."""
    running = RunningPlatform(
        data_dir=root / "data",
        api_key="caged_sk_test_" + secrets.token_urlsafe(24),
        env=env,
        open_files=open_files,
    )
    running.start()
    try:
        yield running
    finally:
        _destroy_all(running)
        running.stop()
    # Every failure the tests provoke must be answered cleanly: a traceback in the server's
    # output is a bug even when every test passed.
    tracebacks = running.tracebacks()
    assert not tracebacks, f"the platform logged {len(tracebacks)} traceback(s):\n" + (
        "\n\n".join(tracebacks[:3])
    )


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The local platform, running for the whole test session."""
    with running_platform(tmp_path_factory.mktemp("platform")) as running:
        yield running


@pytest.fixture(scope="session")
def platform_runner() -> Callable[..., AbstractContextManager[RunningPlatform]]:
    """:func:`running_platform`, for tests that need a platform of their own (a restart,
    another configuration): ``with platform_runner(tmp_path, CAGED_X="1") as p: ...``."""
    return running_platform


#: How many alerts :func:`alert_flood` raises: well past the API's first page (50 by default).
FLOOD = 120


@pytest.fixture(scope="session")
def alert_flood(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """A platform of its own holding :data:`FLOOD` open alerts (so exactly that many, and as
    many unread in-app notifications), each an error spike of its own session, raised
    through the events API. Tests must leave them as they are."""
    # Imported here: loading this conftest (the TUI tests do too) must stay cheap.
    from caged_platform.observe.alerts import RULE_DEFAULTS

    spike = int(RULE_DEFAULTS["error_spike"]["error_count_threshold"])
    now = datetime.now(UTC).isoformat()
    events = [
        {"type": "error", "timestamp": now, "session_id": f"flood-{i:03d}", "payload": {}}
        for i in range(FLOOD)
        for _ in range(spike)
    ]
    with (
        running_platform(tmp_path_factory.mktemp("alert-flood")) as running,
        httpx.Client(base_url=f"{running.url}/v1", headers=running.headers, timeout=60) as api,
    ):
        for start in range(0, len(events), 1000):
            answer = api.post("/events/ingest", json={"events": events[start : start + 1000]})
            assert answer.is_success and not answer.json()["errors"], answer.text

        def raised() -> bool:
            return bool(api.get("/alerts", params={"limit": 1}).json()["total"] >= FLOOD)

        eventually(raised, what=f"{FLOOD} alerts")
        yield running


def _destroy_all(running: RunningPlatform) -> None:
    """Destroy every sandbox left: cages outlive the server, they must not outlive the tests."""
    if running.process is None or running.process.poll() is not None:
        return
    with httpx.Client(base_url=running.url, headers=running.headers, timeout=60) as client:
        listing = client.get("/v1/sandboxes")
        if listing.status_code != 200:
            return  # a test revoked the pinned key: it made no sandboxes with it either
        for sandbox in listing.json():
            client.delete(f"/v1/sandboxes/{sandbox['id']}")
