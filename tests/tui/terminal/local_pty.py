"""A real :class:`~caged_tui.widgets.terminal.TerminalTransport` over a local PTY.

It spawns a process (``bash --norc`` by default) on a pseudo-terminal of this machine, so the
Pilot tests type into a real shell: no mocks. Reads happen only while the consumer iterates, so
the widget's backpressure reaches the PTY (the kernel then blocks the writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
from collections.abc import AsyncIterator, Sequence

READ_SIZE = 64 * 1024


def _set_winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _become_session_leader() -> None:
    """In the child: new session with the PTY as controlling terminal, so ctrl+c reaches the
    foreground job as SIGINT — with SIGINT and SIGQUIT at their defaults, as the platform's
    agent starts a cage's shells: a suite started in the background (``cmd &`` without job
    control) ignores both, the shell would inherit that and no ctrl+c would stop its jobs."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for number in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)


class LocalPtyTransport:
    """A process on a local PTY, speaking the terminal transport protocol.

    Use :meth:`spawn` to create one. ``acked`` records the last flow-control ack (a PTY has no
    window, so acks only feed assertions).
    """

    def __init__(self, master: int, process: asyncio.subprocess.Process) -> None:
        self._master = master
        self.process = process
        self._closed = False
        self.acked = 0
        self.sizes: list[tuple[int, int]] = []
        self._ready: asyncio.Future[None] | None = None

    @classmethod
    async def spawn(
        cls,
        argv: Sequence[str] = ("bash", "--norc", "--noprofile"),
        *,
        rows: int = 24,
        cols: int = 80,
        env: dict[str, str] | None = None,
    ) -> LocalPtyTransport:
        """Start ``argv`` on a new PTY of ``rows`` by ``cols``."""
        master, slave = os.openpty()
        _set_winsize(slave, rows, cols)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            "PS1": "$ ",
            "HISTFILE": "/dev/null",
        }
        environment.update(env or {})
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=environment,
                preexec_fn=_become_session_leader,
            )
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return cls(master, process)

    @property
    def closed(self) -> bool:
        """True once the process side has gone or :meth:`close` was called."""
        return self._closed

    async def send(self, data: str) -> None:
        """Write input to the PTY."""
        payload = data.encode()
        while payload and not self._closed:
            try:
                written = os.write(self._master, payload)
            except BlockingIOError:
                await asyncio.sleep(0.005)  # The PTY's input queue is full.
                continue
            except OSError:
                return
            payload = payload[written:]

    async def resize(self, rows: int, cols: int) -> None:
        """Set the PTY size; the kernel sends SIGWINCH to the foreground job."""
        if not self._closed:
            self.sizes.append((rows, cols))
            _set_winsize(self._master, rows, cols)

    async def ack(self, nbytes: int) -> None:
        """Record the ack (no window on a local PTY)."""
        self.acked = nbytes

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        self._ready = ready

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._master, wake)
        try:
            await ready
        finally:
            self._ready = None
            if not self._closed:
                loop.remove_reader(self._master)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while not self._closed:
            await self._readable()
            if self._closed:
                break
            try:
                data = os.read(self._master, READ_SIZE)
            except BlockingIOError:
                continue
            except OSError:
                break  # EIO: every process on the slave side has gone.
            if not data:
                break
            yield data
        self._closed = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        """Output chunks until the process exits."""
        return self._chunks()

    async def close(self) -> None:
        """Hang up the process group and release the PTY."""
        if not self._closed:
            self._closed = True
            asyncio.get_running_loop().remove_reader(self._master)
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(None)
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGHUP)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._master)
