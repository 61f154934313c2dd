"""Real TUI processes on a pseudo-terminal, watched from outside.

Startup and idle CPU are properties of a whole process (interpreter start,
imports, the first HTTP calls, the Textual driver writing to a terminal), so
they are measured on real processes: each runs on its own PTY of a fixed size
exactly as in a user's terminal, its output is drained continuously (a TUI
whose terminal stops reading would block), and its "first frame" is the
moment every expected string has been written to the terminal. No hook in the
app is needed, and the reference app is watched the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Sequence
from pathlib import Path

COLUMNS, LINES = 160, 40


class PtyProcess:
    """A process on its own PTY; ``first_frame`` waits for strings to appear on its screen."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], expect: Sequence[str]):
        self.started = time.perf_counter()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self._master = master
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(LINES)},
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self._missing = {text.encode() for text in expect}
        self._seen = bytearray()
        self.first_frame_at: float | None = None
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                break  # EIO: the process and its terminal are gone
            if not chunk:
                break
            if self.first_frame_at is None:
                # Keep only a tail long enough for a string split across two reads.
                self._seen = self._seen[-256:] + chunk
                self._missing = {text for text in self._missing if text not in self._seen}
                if not self._missing:
                    self.first_frame_at = time.perf_counter()
                    self._ready.set()
        self._ready.set()

    def first_frame(self, timeout: float = 60.0) -> float:
        """Seconds from spawning to the frame showing every expected string."""
        self._ready.wait(timeout)
        if self.first_frame_at is None:
            raise RuntimeError(
                f"{self.process.args!r} showed no first frame within {timeout:g} s "
                f"(exit code {self.process.poll()}); still missing {sorted(self._missing)[:3]}"
            )
        return self.first_frame_at - self.started

    def cpu_seconds(self) -> float:
        """CPU time of the process's live threads so far, to the nanosecond (each
        ``/proc/PID/task/TID/schedstat``): an idle app spends a few 10 ms clock ticks in
        30 s, which ``/proc/PID/stat`` can only count whole. Threads that ended are
        not counted: for windows in which none does (an idle app's)."""
        total = 0
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            with contextlib.suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9

    def close(self) -> None:
        """Kill the process and its session, close the terminal."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._master)
        self._reader.join(timeout=5)
