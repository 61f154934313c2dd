"""The in-cage agent: one small, stdlib-only process per sandbox.

It is started by bubblewrap (so PID 1 of the cage is bwrap's init and the agent is its child)
or, without bwrap, as a plain process.  It serves a Unix socket whose listening fd the host
created and passed down; that way the run directory can be mounted read-only in the cage and
the socket outlives a restart of the server.

Protocol:

1. the client sends one JSON header line, ``{"op": "...", ...}\\n``;
2. the agent answers with one JSON line, ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}``;
3. then, depending on the op, either nothing (``ping``, ``ports``, ``stats``), frames
   (``exec``, ``pty``, ``watch``) or raw bytes (``forward``).

After ``ping``, ``ports``, ``stats`` and an ``exec`` that ran to its exit frame, the connection
takes the next request (version 2; version 1 closed it): connecting is most of a short exec's
cost.  The other ops own their connection until it closes.

A frame is ``kind (1 byte) + length (4 bytes, big endian) + payload`` with kind ``D`` (data:
output, PTY input/output) or ``C`` (control: a JSON object).  Control frames: ``exec`` ends
with ``{"exit": code|null, "timed_out": bool}``; ``pty`` takes ``{"resize": [rows, cols]}``
and ends with ``{"exit": code}``; ``watch`` sends ``{"events": [{"path", "kind", "dest"?}]}``,
each with what it changed: ``diff`` (text files) or sizes and hashes (:class:`ContentMemory`).
Closing the connection cancels: an exec's process group is killed, a PTY is hung up.

Every write is a blocking ``sendall``, so a host that stops reading stops the agent reading
the PTY or pipe: nothing is buffered without bound.

This file is copied into each cage's run directory and run with the system ``python3``; it
must import nothing outside the standard library.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

# The agent's start-up time is a cage's start-up time: ``typing`` and ``json`` (which pulls in
# ``re``) cost ~20 ms, so typing names are for the checker only and json loads in the background.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

PROTOCOL_VERSION = 2
FRAME_DATA = ord("D")
FRAME_CONTROL = ord("C")
FRAME_HEADER = struct.Struct(">BI")
MAX_FRAME = 64 * 1024
MAX_HEADER_LINE = 64 * 1024
CHUNK = 64 * 1024
PTY_SOCKET_BUFFER = 4 * 1024  # the kernel doubles it
# Signals Python ignores or handles in the agent, or the agent inherited ignored from a platform
# started in the background, that children must get back at their default
# (``yes | head`` relies on SIGPIPE killing ``yes``).
_CHILD_DEFAULT_SIGNALS = (
    signal.SIGPIPE,
    signal.SIGXFSZ,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGHUP,
)
_WINSIZE = struct.Struct("HHHH")
# Ops after which the connection is idle and takes the next request (an exec the host
# cancelled leaves it at EOF, which ends it).
_REUSABLE_OPS = frozenset({"ping", "ports", "stats", "exec"})


class _ignoring:  # lower-case: used like contextlib.suppress
    """``contextlib.suppress`` without importing contextlib (and collections) at start-up."""

    def __init__(self, *errors: type[BaseException]) -> None:
        self._errors = errors

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, self._errors)


def encode_frame(kind: int, payload: bytes) -> bytes:
    """One frame: kind byte, big-endian length, payload (at most ``MAX_FRAME`` bytes)."""
    if len(payload) > MAX_FRAME:
        raise ValueError("frame too large")
    return FRAME_HEADER.pack(kind, len(payload)) + payload


def encode_control(message: dict[str, Any]) -> bytes:
    """A control frame carrying ``message`` as compact JSON."""
    import json

    return encode_frame(FRAME_CONTROL, json.dumps(message, separators=(",", ":")).encode())


def encode_line(message: dict[str, Any]) -> bytes:
    """A header or answer line."""
    import json

    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


# --------------------------------------------------------------------------- blocking socket io


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """``n`` bytes, or None at a clean EOF before the first byte."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if buf:
                raise EOFError("connection closed inside a frame")
            return None
        buf += chunk
    return bytes(buf)


def _read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    head = _recv_exact(sock, FRAME_HEADER.size)
    if head is None:
        return None
    kind, length = FRAME_HEADER.unpack(head)
    if length > MAX_FRAME:
        raise ValueError("frame too large")
    payload = _recv_exact(sock, length) if length else b""
    if payload is None:
        raise EOFError("connection closed inside a frame")
    return kind, payload


def _read_header_line(sock: socket.socket) -> bytes:
    """Read exactly through the first newline, so nothing after it is consumed."""
    buf = bytearray()
    while True:
        peeked = sock.recv(MAX_HEADER_LINE, socket.MSG_PEEK)
        if not peeked:
            raise EOFError("connection closed before the header")
        newline = peeked.find(b"\n")
        if newline >= 0:
            buf += _recv_exact(sock, newline + 1) or b""
            return bytes(buf[:-1])
        buf += _recv_exact(sock, len(peeked)) or b""
        if len(buf) > MAX_HEADER_LINE:
            raise ValueError("header line too long")


def splice(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until both directions reached EOF; closes both sockets."""

    def pump(src: socket.socket, dst: socket.socket) -> None:
        """One direction: ``src`` to ``dst``."""
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        # Pass the half-close on so request/response protocols finish cleanly.
        with _ignoring(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=pump, args=(b, a), daemon=True)
    other.start()
    pump(a, b)
    other.join()
    a.close()
    b.close()


# ------------------------------------------------------------------------------- /proc readings


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def all_pids() -> list[int]:
    """Every process visible in this /proc."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat_fields(pid: int) -> list[str] | None:
    raw = _read_text(f"/proc/{pid}/stat")
    if raw is None:
        return None
    # The command name may contain spaces and parentheses; fields restart after the last ')'.
    return raw[raw.rfind(")") + 2 :].split()


def descendants(root: int) -> set[int]:
    """``root`` and every process below it (by parent pid)."""
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        fields = _stat_fields(pid)
        if fields:
            children.setdefault(int(fields[1]), []).append(pid)
    found = {root}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def proc_usage(pids: Iterable[int]) -> tuple[float, int]:
    """(CPU seconds incl. reaped children, resident bytes) summed over ``pids``."""
    ticks = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    cpu = 0
    rss = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if not fields or fields[0] == "Z":
            continue
        # utime, stime, cutime, cstime: reaped children count in their parent's c-times, and
        # dead processes are no longer listed, so nothing is counted twice.
        cpu += sum(int(v) for v in fields[11:15])
        rss += int(fields[21]) * page
    return cpu / ticks, rss


def listening_ports(pids: Iterable[int], net_dir: str = "/proc/net") -> list[int]:
    """TCP ports in LISTEN state owned by ``pids``, per the network namespace of ``net_dir``
    (the host reads a cage's through ``/proc/<pid>/net``)."""
    inodes: set[str] = set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(f"{fd_dir}/{name}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports: set[int] = set()
    for table in (f"{net_dir}/tcp", f"{net_dir}/tcp6"):
        raw = _read_text(table)
        for line in (raw or "").splitlines()[1:]:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes:
                ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return sorted(ports)


# ------------------------------------------------------------------------------------- children


class Reaper:
    """The only ``waitpid`` caller: reaps every child (and adopted orphan), keeps statuses of
    the processes the agent spawned until their waiters collect them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._status: dict[int, int | None] = {}
        self._wakeup = threading.Event()

    def spawn(self, path: str, argv: list[str], env: dict[str, str], **kwargs: Any) -> int:
        """``posix_spawn`` (no Python runs in the child) and start tracking the pid."""
        # Holding the lock across spawn+register means the reaper cannot record the exit of a
        # pid it does not know yet.
        with self._cond:
            pid = os.posix_spawn(
                path, argv, env, setsigdef=_CHILD_DEFAULT_SIGNALS, setsigmask=(), **kwargs
            )
            self._status[pid] = None
        self._wakeup.set()
        return pid

    def run(self) -> None:
        """The reaper thread's loop."""
        while True:
            self._wakeup.clear()
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                self._wakeup.wait()
                continue
            with self._cond:
                if pid in self._status:
                    self._status[pid] = os.waitstatus_to_exitcode(status)
                    self._cond.notify_all()

    def poll(self, pid: int) -> int | None:
        """The exit code of a spawned pid, or None while it runs."""
        with self._cond:
            return self._status.get(pid)

    def wait(self, pid: int, timeout: float | None) -> int | None:
        """Wait up to ``timeout`` seconds for the exit code of a spawned pid."""
        with self._cond:
            self._cond.wait_for(lambda: self._status.get(pid) is not None, timeout)
            return self._status.get(pid)

    def forget(self, pid: int) -> None:
        """Drop a collected status."""
        with self._cond:
            self._status.pop(pid, None)


def shell_exit_code(code: int) -> int:
    """Signal deaths as a shell reports them (128 + signal)."""
    return 128 - code if code < 0 else code


def _killpg(pgid: int, sig: int) -> None:
    with _ignoring(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


#: At most this much is read from a pipe whose command has been killed: a child that left
#: the command's group may go on writing to it.
_DRAIN_LIMIT = 256 * 1024


def _drain(fd: int, send: Callable[[bytes], None]) -> None:
    """Pass on what ``fd`` holds now (up to :data:`_DRAIN_LIMIT`), without waiting."""
    left = _DRAIN_LIMIT
    while left > 0 and select.select([fd], [], [], 0)[0]:
        data = os.read(fd, min(CHUNK, left))
        if not data:
            return
        send(data)
        left -= len(data)


# ----------------------------------------------------------------------------------- inotify

_IN_MODIFY = 0x2
_IN_MOVED_FROM = 0x40
_IN_MOVED_TO = 0x80
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_Q_OVERFLOW = 0x4000
_IN_IGNORED = 0x8000
_IN_ISDIR = 0x40000000
_IN_WATCH_MASK = _IN_MODIFY | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
_IN_EVENT = struct.Struct("iIII")
DEBOUNCE_S = 0.2
MAX_BATCH_DELAY_S = 1.0
MAX_PENDING = 2000


class Watcher:
    """Recursive inotify on a directory tree, with coalesced, debounced batches."""

    def __init__(self, root: str, display_root: str) -> None:
        import ctypes  # only watchers pay for ctypes

        self._libc = ctypes.CDLL(None, use_errno=True)
        self._ctypes = ctypes
        self.fd: int = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._root = root.rstrip("/") or "/"
        self._display = display_root.rstrip("/") or "/"
        self._paths: dict[int, str] = {}
        self.pending: dict[str, dict[str, str]] = {}
        self._moves: dict[int, str] = {}
        self._first_at = 0.0
        self.last_at = 0.0
        self._add_tree(self._root, report=False)
        self.memory = ContentMemory()

    def close(self) -> None:
        """Close the inotify descriptor."""
        os.close(self.fd)

    @property
    def root(self) -> str:
        """The watched directory."""
        return self._root

    def _show(self, path: str) -> str:
        return self._display + path[len(self._root) :]

    def _add_tree(self, top: str, *, report: bool) -> None:
        """Watch ``top`` and every directory below it; with ``report``, note what is already
        there as created.  Each directory is watched *before* it is listed, so a file created
        in between is seen by one or the other (or both: duplicates coalesce)."""
        stack = [top]
        while stack:
            directory = stack.pop()
            wd = self._libc.inotify_add_watch(self.fd, directory.encode(), _IN_WATCH_MASK)
            if wd >= 0:
                self._paths[wd] = directory
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                is_dir = entry.is_dir(follow_symlinks=False)
                if report:
                    self._note(entry.path, "created")
                if is_dir:
                    stack.append(entry.path)

    def _note(self, path: str, kind: str, dest: str | None = None) -> None:
        now = time.monotonic()
        if not self.pending:
            self._first_at = now
        self.last_at = now
        shown = self._show(path)
        before = self.pending.get(shown, {}).get("kind")
        if before == "created" and kind == "modified":
            kind = "created"
        elif before == "created" and kind == "deleted":
            # Never seen by anyone: nothing happened.
            self.pending.pop(shown, None)
            return
        elif before == "deleted" and kind == "created":
            kind = "modified"
        elif before == "created" and kind == "moved" and dest is not None:
            # Created and renamed within one batch: only the new name ever existed.
            self.pending.pop(shown, None)
            self._note(dest, "created")
            return
        event = {"path": shown, "kind": kind}
        if dest is not None:
            event["dest"] = self._show(dest)
        self.pending.pop(shown, None)  # re-insert so batches keep the order of last change
        self.pending[shown] = event

    def read_events(self) -> None:
        """Drain the inotify fd into ``pending``."""
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                wd, mask, cookie, length = _IN_EVENT.unpack_from(data, offset)
                offset += _IN_EVENT.size
                name = data[offset : offset + length].rstrip(b"\0").decode(errors="surrogateescape")
                offset += length
                self._handle(wd, mask, cookie, name)
        # A MOVED_FROM without its MOVED_TO left the tree.
        for path in self._moves.values():
            self._note(path, "deleted")
        self._moves.clear()

    def _handle(self, wd: int, mask: int, cookie: int, name: str) -> None:
        if mask & _IN_Q_OVERFLOW:
            self._note(self._root, "modified")
            return
        if mask & _IN_IGNORED:
            self._paths.pop(wd, None)
            return
        base = self._paths.get(wd)
        if base is None or mask & _IN_DELETE_SELF:
            return
        path = os.path.join(base, name) if name else base
        is_dir = bool(mask & _IN_ISDIR)
        if mask & _IN_CREATE:
            self._note(path, "created")
            if is_dir:
                self._add_tree(path, report=True)
        elif mask & _IN_MODIFY:
            self._note(path, "modified")
        elif mask & _IN_DELETE:
            self._note(path, "deleted")
        elif mask & _IN_MOVED_FROM:
            self._moves[cookie] = path
        elif mask & _IN_MOVED_TO:
            source = self._moves.pop(cookie, None)
            if source is None:
                self._note(path, "created")
            else:
                self._note(source, "moved", dest=path)
            if is_dir:
                # Re-adding returns the same watch descriptors and re-points them at new paths.
                self._add_tree(path, report=source is None)

    def due_in(self) -> float | None:
        """Seconds until the pending batch should be sent (None: nothing pending)."""
        if not self.pending:
            return None
        if len(self.pending) >= MAX_PENDING:
            return 0.0  # a storm of changes: send now rather than hold an unbounded batch
        now = time.monotonic()
        return max(0.0, min(self.last_at + DEBOUNCE_S, self._first_at + MAX_BATCH_DELAY_S) - now)

    def take(self) -> list[dict[str, Any]]:
        """The pending batch, emptied, each change with what it changed (see
        :class:`ContentMemory`)."""
        batch: list[dict[str, Any]] = []
        for event in self.pending.values():
            path = self._root + event["path"][len(self._display) :]
            dest = event.get("dest")
            real = self._root + dest[len(self._display) :] if dest else None
            facts = self.memory.describe(path, event["kind"], event["path"], real)
            batch.append({**event, **facts})
        self.pending.clear()
        return batch


#: A text file up to this size is kept, so that its next change is sent as a unified diff.
TEXT_CAP = 64 * 1024
#: A diff longer than this is not sent (the sizes and hashes are): it would be clipped anyway.
DIFF_CAP = 8 * 1024
#: Texts kept in all (a workspace of many files keeps the first ones seen).
MEMORY_BUDGET = 16 * 1024 * 1024
#: Files hashed when the watch starts (a huge tree is not read in full before the first event).
SCAN_FILES = 5000
#: Bytes read when the watch starts, at most.
SCAN_BYTES = 64 * 1024 * 1024
#: Files larger than this are described by their size only (hashing them would stall the agent).
HASH_CAP = 32 * 1024 * 1024


class ContentMemory:
    """What the files under the watch looked like, so a change can say what it changed.

    A text file (UTF-8 without NUL) of at most :data:`TEXT_CAP` bytes is kept whole; any
    other file by its size and SHA-256. :meth:`describe` turns a change into its facts —
    ``diff`` (unified, ``a/`` and ``b/`` paths) when both sides are known text, otherwise
    ``size_before``/``size_after`` and ``sha256_before``/``sha256_after`` — and remembers
    the new state. The diff is computed here, inside the cage: the host never reads the
    sandbox's files to describe them.
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, str, str | None]] = {}  # path -> (size, sha, text)
        self._kept = 0

    def scan(self, root: str) -> None:
        """Remember the files already there (up to :data:`SCAN_FILES` files and
        :data:`SCAN_BYTES` read)."""
        seen = read = 0
        for top, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if seen >= SCAN_FILES or read >= SCAN_BYTES:
                    return
                seen += 1
                state = self._remember(os.path.join(top, name))
                read += state[0] if state is not None and state[1] else 0

    def _read(self, path: str) -> tuple[int, str, str | None] | None:
        import hashlib
        import stat

        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                return None
            if info.st_size > HASH_CAP:
                return info.st_size, "", None
            with open(path, "rb", buffering=0) as handle:
                data = handle.read(HASH_CAP + 1)
        except OSError:
            return None
        text: str | None = None
        if len(data) <= TEXT_CAP and b"\0" not in data:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        return len(data), hashlib.sha256(data).hexdigest(), text

    def _remember(self, path: str) -> tuple[int, str, str | None] | None:
        now = self._read(path)
        self._forget(path)
        if now is not None:
            size, sha, text = now
            if text is not None and self._kept + len(text) > MEMORY_BUDGET:
                now = (size, sha, None)
            elif text is not None:
                self._kept += len(text)
            self._known[path] = now
        return now

    def _forget(self, path: str) -> tuple[int, str, str | None] | None:
        old = self._known.pop(path, None)
        if old is not None and old[2] is not None:
            self._kept -= len(old[2])
        return old

    def describe(self, path: str, kind: str, shown: str, dest: str | None = None) -> dict[str, Any]:
        """The facts of one change of ``path`` (shown as ``shown``), remembering the new state."""
        if kind == "moved" and dest is not None:
            moved = self._forget(path)
            if moved is not None:
                self._known[dest] = moved
                if moved[2] is not None:
                    self._kept += len(moved[2])
            return {}
        before = self._forget(path) if kind == "deleted" else self._known.get(path)
        after = None if kind == "deleted" else self._remember(path)
        if kind == "created":
            before = None
        if before is None and after is None:
            return {}
        old_text = "" if before is None else before[2]
        new_text = "" if after is None else after[2]
        if old_text is not None and new_text is not None and (kind != "modified" or before):
            import difflib

            diff = "".join(
                difflib.unified_diff(
                    old_text.splitlines(keepends=True),
                    new_text.splitlines(keepends=True),
                    fromfile="/dev/null" if before is None else "a" + shown,
                    tofile="/dev/null" if after is None else "b" + shown,
                )
            )
            if diff and len(diff) <= DIFF_CAP:
                return {"diff": diff}
        facts: dict[str, Any] = {}
        for side, state in (("before", before), ("after", after)):
            if state is not None:
                facts[f"size_{side}"] = state[0]
                if state[1]:
                    facts[f"sha256_{side}"] = state[1]
        return facts


def _send_events(conn: socket.socket, events: list[dict[str, Any]]) -> None:
    """Send a batch as as many control frames as it takes to stay under ``MAX_FRAME``."""
    import json

    chunk: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(json.dumps(event)) + 2
        if chunk and size + cost > MAX_FRAME - 64:
            conn.sendall(encode_control({"events": chunk}))
            chunk, size = [], 0
        chunk.append(event)
        size += cost
    if chunk:
        conn.sendall(encode_control({"events": chunk}))


# -------------------------------------------------------------------------------------- agent


class Agent:
    """Serves requests on an inherited listening socket, one thread per connection.

    The socket is served at once; the JSON config is parsed (and the fallback limits applied)
    by a warm-up thread, which every request but ``ping`` waits for.  So a cage counts as
    started as soon as the interpreter is up.
    """

    def __init__(self, listen_fd: int, config_text: str) -> None:
        self.listener = socket.socket(fileno=listen_fd)
        self.listener.setblocking(True)
        self.reaper = Reaper()
        self.ready = threading.Event()
        self._config_text = config_text
        self.workspace = os.getcwd()
        self.display_root = self.workspace
        self.isolated = False
        self.proxy: dict[str, Any] | None = None
        self.cpu_set: list[int] | None = None
        self._parsed = threading.Event()
        self._spare = False
        self._claiming = threading.Lock()
        self._claimed = False

    def _warm_up(self) -> None:
        import json

        config: dict[str, Any] = json.loads(self._config_text)
        self._spare = bool(config.get("spare"))
        self._parsed.set()
        if not self._spare:
            self._configure(config)
        # A spare cage is configured by the ``claim`` request that makes it a sandbox's.

    def _configure(self, config: dict[str, Any]) -> None:
        """Apply the cage's config; every request but ``ping`` and ``claim`` waits for this."""
        env = config.get("env")
        if isinstance(env, dict):
            # A claimed spare's environment is its sandbox's, replaced before anything runs.
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in env.items()})
        # Before anything is spawned: children inherit them.
        self.cpu_set = apply_fallback_limits(config)
        self.workspace = config.get("workspace") or self.workspace
        self.display_root = config.get("display_root") or self.workspace
        # In its own PID namespace every visible process belongs to the cage; otherwise the
        # cage is the agent's process tree (it is a child subreaper, so orphans stay in it).
        self.isolated = bool(config.get("isolated"))
        self.proxy = config.get("proxy")
        if self.proxy:
            threading.Thread(target=self._serve_proxy, name="proxy", daemon=True).start()
        self.ready.set()

    def cage_pids(self) -> set[int]:
        """Every process of the cage as the agent sees it."""
        if self.isolated:
            return set(all_pids())
        return descendants(os.getpid())

    def serve(self) -> None:
        """Accept connections forever."""
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()
        threading.Thread(target=self.reaper.run, name="reaper", daemon=True).start()
        while True:
            try:
                conn, _ = self.listener.accept()
            except InterruptedError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        keep_open = False
        served = 0
        try:
            while True:
                try:
                    header = _read_header_line(conn)
                except EOFError:
                    if served:
                        return  # the host closed a connection it kept between requests
                    raise
                served += 1
                if header.replace(b" ", b"") == b'{"op":"ping"}':
                    # Answered without json so that start-up waits for nothing but the
                    # interpreter.
                    conn.sendall(
                        b'{"ok":true,"version":%d,"pid":%d}\n' % (PROTOCOL_VERSION, os.getpid())
                    )
                    continue
                if header.startswith(b'{"op":"claim"'):
                    self._claim(conn, header)
                    continue
                self.ready.wait()
                if self.cpu_set is not None:
                    os.sched_setaffinity(0, self.cpu_set)  # this thread may predate the warm-up
                import json

                request = json.loads(header)
                op = request.get("op")
                handler: Callable[[socket.socket, dict[str, Any]], bool | None] | None = (
                    getattr(self, f"_op_{op}", None)
                    if isinstance(op, str) and op.isidentifier()
                    else None
                )
                if handler is None:
                    conn.sendall(encode_line({"ok": False, "error": f"unknown op {op!r}"}))
                    return
                keep_open = bool(handler(conn, request))
                if op not in _REUSABLE_OPS:
                    return
        except (OSError, EOFError, ValueError) as err:
            with _ignoring(OSError):
                conn.sendall(encode_line({"ok": False, "error": str(err)}))
        finally:
            if not keep_open:
                conn.close()

    def _claim(self, conn: socket.socket, header: bytes) -> None:
        """``{"op": "claim", "config": {...}}``: a spare cage becomes a sandbox's.  Its config
        (environment, limits, proxy) is applied before any other request runs; only once."""
        import json

        self._parsed.wait()
        with self._claiming:
            if not self._spare or self._claimed:
                conn.sendall(encode_line({"ok": False, "error": "not an unclaimed spare cage"}))
                return
            self._claimed = True
        self._configure(dict(json.loads(header)["config"]))
        conn.sendall(encode_line({"ok": True}))

    # ---------------------------------------------------------------- simple request/response

    def _op_ping(self, conn: socket.socket, request: dict[str, Any]) -> None:
        conn.sendall(
            encode_line(
                {
                    "ok": True,
                    "version": PROTOCOL_VERSION,
                    "pid": os.getpid(),
                    "isolated": self.isolated,
                    "workspace": self.display_root,
                }
            )
        )

    def _op_ports(self, conn: socket.socket, request: dict[str, Any]) -> None:
        pids = self.cage_pids()
        pids.discard(os.getpid())  # the agent's own proxy listener is not the cage's port
        conn.sendall(encode_line({"ok": True, "ports": listening_ports(pids)}))

    def _op_stats(self, conn: socket.socket, request: dict[str, Any]) -> None:
        pids = self.cage_pids()
        cpu, rss = proc_usage(pids)
        conn.sendall(
            encode_line(
                {"ok": True, "cpu_seconds": cpu, "memory_bytes": rss, "processes": len(pids)}
            )
        )

    # --------------------------------------------------------------------------------- exec

    def _env(self, extra: Any) -> dict[str, str]:
        env = dict(os.environ)
        if isinstance(extra, dict):
            env.update({str(k): str(v) for k, v in extra.items()})
        return env

    def _op_exec(self, conn: socket.socket, request: dict[str, Any]) -> None:
        command = str(request["cmd"])
        timeout = float(request.get("timeout_s") or 300.0)
        read_fd, write_fd = os.pipe()
        try:
            pid = self.reaper.spawn(
                "/bin/sh",
                ["sh", "-c", command],
                self._env(request.get("env")),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, write_fd, 1),
                    (os.POSIX_SPAWN_DUP2, write_fd, 2),
                ],
                setsid=True,  # its own process group, so a timeout kills the whole group
            )
        except OSError as err:
            os.close(read_fd)
            conn.sendall(encode_line({"ok": False, "error": f"cannot run: {err}"}))
            return
        finally:
            os.close(write_fd)
        started = time.monotonic()
        deadline = started + timeout
        timed_out = False
        cancelled = False
        try:
            conn.sendall(encode_line({"ok": True, "pid": pid}))
            pipe_open = True
            exited_at: float | None = None
            while True:
                now = time.monotonic()
                if now >= deadline:
                    timed_out = True
                    break
                if exited_at is None and self.reaper.poll(pid) is not None:
                    exited_at = now
                if exited_at is not None and (not pipe_open or now - exited_at > 1.0):
                    # A background child may hold the pipe open forever; do not wait for it.
                    break
                if not pipe_open:
                    # Output closed but the command runs on: wait for its exit, in slices so
                    # that a cancellation (the host hanging up) is still noticed.
                    self.reaper.wait(pid, min(0.5, deadline - now))
                    readable, _, _ = select.select([conn.fileno()], [], [], 0)
                    if readable and not conn.recv(CHUNK, socket.MSG_DONTWAIT):
                        cancelled = True
                        break
                    continue
                wait = min(deadline - now, 0.05 if exited_at is not None else 0.5)
                readable, _, _ = select.select([conn.fileno(), read_fd], [], [], wait)
                if conn.fileno() in readable and not conn.recv(CHUNK, socket.MSG_DONTWAIT):
                    cancelled = True
                    break
                if read_fd in readable:
                    data = os.read(read_fd, CHUNK)
                    if data:
                        conn.sendall(encode_frame(FRAME_DATA, data))
                    else:
                        pipe_open = False
                elif exited_at is not None and not readable:
                    break  # exited and the pipe has gone quiet
            if timed_out or cancelled:
                _killpg(pid, signal.SIGKILL)
            if timed_out and pipe_open:
                # What the command wrote before its deadline is its output, also when this
                # loop only got to look once the deadline had passed (a loaded machine).
                _drain(read_fd, lambda data: conn.sendall(encode_frame(FRAME_DATA, data)))
            code = self.reaper.wait(pid, 5.0)
            if not cancelled:
                conn.sendall(
                    encode_control(
                        {
                            "exit": None if timed_out or code is None else shell_exit_code(code),
                            "timed_out": timed_out,
                            "duration_ms": (time.monotonic() - started) * 1000.0,
                        }
                    )
                )
        finally:
            if self.reaper.poll(pid) is None:
                _killpg(pid, signal.SIGKILL)
                self.reaper.wait(pid, 5.0)
            self.reaper.forget(pid)
            os.close(read_fd)

    # ---------------------------------------------------------------------------------- pty

    def _op_pty(self, conn: socket.socket, request: dict[str, Any]) -> None:
        rows = int(request.get("rows") or 24)
        cols = int(request.get("cols") or 80)
        env = self._env(request.get("env"))
        env.setdefault("TERM", "xterm-256color")
        shell = next(
            (p for p in ("/bin/bash", "/usr/bin/bash") if os.access(p, os.X_OK)), "/bin/sh"
        )
        env["SHELL"] = shell
        master, slave = os.openpty()
        import termios  # a shared library: loaded by the first terminal, not at start-up

        fcntl.ioctl(master, termios.TIOCSWINSZ, _WINSIZE.pack(rows, cols, 0, 0))
        try:
            pid = self.reaper.spawn(
                shell,
                [os.path.basename(shell), "-l"],
                env,
                # setsid happens before the file actions, so opening the slave by name (without
                # O_NOCTTY) makes it the new session's controlling terminal: job control works.
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.ttyname(slave), os.O_RDWR, 0),
                    (os.POSIX_SPAWN_DUP2, 0, 1),
                    (os.POSIX_SPAWN_DUP2, 0, 2),
                ],
                setsid=True,
            )
        except OSError as err:
            os.close(master)
            conn.sendall(encode_line({"ok": False, "error": f"cannot start a shell: {err}"}))
            return
        finally:
            os.close(slave)
        # The input side gets its own descriptor so neither thread can close an fd the other
        # one is still using (and write into whatever reused that number).
        input_fd = os.dup(master)
        # A terminal's output must not pile up below the server's flow-control window: a
        # Unix stream socket holds ~200 KiB by default, all of which a user who pressed
        # ctrl+c during a flood would have to watch scroll past first.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PTY_SOCKET_BUFFER)
        conn.sendall(encode_line({"ok": True, "pid": pid}))
        output = threading.Thread(
            target=self._pty_output, args=(conn, master, pid), name="pty-out", daemon=True
        )
        output.start()
        try:
            while True:
                frame = _read_frame(conn)
                if frame is None:
                    break
                kind, payload = frame
                if kind == FRAME_DATA:
                    view = memoryview(payload)
                    while view:  # blocking writes: a shell not reading its input stalls us
                        view = view[os.write(input_fd, view) :]
                elif kind == FRAME_CONTROL:
                    import json

                    message = json.loads(payload)
                    if "resize" in message:
                        r, c = (int(v) for v in message["resize"])
                        fcntl.ioctl(input_fd, termios.TIOCSWINSZ, _WINSIZE.pack(r, c, 0, 0))
                    if message.get("hangup"):
                        break
        except (OSError, EOFError, ValueError):
            pass
        finally:
            if self.reaper.poll(pid) is None:
                # Hang up: the shell (session leader) and its foreground job get SIGHUP.
                _killpg(pid, signal.SIGHUP)
                with _ignoring(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            output.join(10.0)
            os.close(input_fd)
            conn.close()

    def _pty_output(self, conn: socket.socket, master: int, pid: int) -> None:
        try:
            readable_master = True
            while True:
                if readable_master:
                    ready, _, _ = select.select([master], [], [], 0.25)
                    if ready:
                        try:
                            data = os.read(master, CHUNK)
                        except OSError as err:
                            if err.errno != errno.EIO:
                                raise
                            data = b""
                        if data:
                            conn.sendall(encode_frame(FRAME_DATA, data))
                            continue
                        readable_master = False  # every slave fd closed
                    elif self.reaper.poll(pid) is not None:
                        break
                else:
                    self.reaper.wait(pid, 0.25)
                    if self.reaper.poll(pid) is not None:
                        break
            code = self.reaper.wait(pid, None)
            conn.sendall(
                encode_control({"exit": shell_exit_code(code) if code is not None else None})
            )
        except OSError:
            pass
        finally:
            os.close(master)
            self.reaper.forget(pid)
            with _ignoring(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the input loop

    # -------------------------------------------------------------------------------- watch

    def _op_watch(self, conn: socket.socket, request: dict[str, Any]) -> None:
        watcher = Watcher(self.workspace, self.display_root)
        try:
            conn.sendall(encode_line({"ok": True}))
            # After the answer: the host is not kept waiting while the tree is read.
            watcher.memory.scan(watcher.root)
            while True:
                due = watcher.due_in()
                readable, _, _ = select.select([conn.fileno(), watcher.fd], [], [], due)
                if conn.fileno() in readable and not conn.recv(CHUNK, socket.MSG_DONTWAIT):
                    return
                if watcher.fd in readable:
                    watcher.read_events()
                due = watcher.due_in()
                if due is not None and due <= 0:
                    _send_events(conn, watcher.take())
        finally:
            watcher.close()

    # ------------------------------------------------------------------------------ forward

    def _op_forward(self, conn: socket.socket, request: dict[str, Any]) -> bool:
        port = int(request["port"])
        upstream: socket.socket | None = None
        errors: list[str] = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            candidate = socket.socket(family, socket.SOCK_STREAM)
            try:
                candidate.settimeout(5.0)
                candidate.connect((host, port))
                candidate.settimeout(None)
                upstream = candidate
                break
            except OSError as err:
                candidate.close()
                errors.append(f"{host}: {err.strerror or err}")
        if upstream is None:
            conn.sendall(encode_line({"ok": False, "error": f"port {port}: {'; '.join(errors)}"}))
            return False
        conn.sendall(encode_line({"ok": True}))
        splice(conn, upstream)
        return True

    # -------------------------------------------------------------------- allowlist proxy hop

    def _serve_proxy(self) -> None:
        """Listen on the cage's 127.0.0.1:<port> and hop each connection to the host proxy."""
        assert self.proxy is not None
        listener = socket.create_server(("127.0.0.1", int(self.proxy["port"])), backlog=64)
        target = str(self.proxy["socket"])
        while True:
            client, _ = listener.accept()
            threading.Thread(target=self._proxy_hop, args=(client, target), daemon=True).start()

    def _proxy_hop(self, client: socket.socket, target: str) -> None:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(target)
        except OSError:
            upstream.close()
            client.close()  # the host proxy is down (e.g. the server is restarting)
            return
        splice(client, upstream)


def apply_fallback_limits(config: dict[str, Any]) -> list[int] | None:
    """rlimits and CPU affinity, set on the agent so every cage process inherits them.

    Returns the CPU set, if restricted: affinity is per thread, so a thread that was already
    running must apply it again before it spawns anything.
    """
    import resource

    data = config.get("rlimit_data")
    if data:
        resource.setrlimit(resource.RLIMIT_DATA, (int(data), int(data)))
    cpus = config.get("cpus")
    if cpus:
        allowed = sorted(os.sched_getaffinity(0))[: max(1, int(cpus))]
        # Affinity is per thread and this runs in the warm-up thread: set it on every thread
        # (threads started later inherit it from the main thread).
        for tid in os.listdir("/proc/self/task"):
            with _ignoring(OSError):
                os.sched_setaffinity(int(tid), allowed)
        cpu_set: list[int] | None = allowed
    else:
        cpu_set = None
    if config.get("subreaper"):
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    return cpu_set


def main(argv: list[str]) -> int:
    """``agent.py <listening fd> '<json config>'``.

    Config keys: ``workspace`` and ``display_root`` (the workspace as the agent sees it and as
    reported in events), ``isolated`` (own PID namespace), ``proxy`` (``{"port", "socket"}``
    for allowlist mode), ``rlimit_data``, ``cpus``, ``subreaper`` (fallback limits), ``env``
    (replaces the inherited environment).  ``{"spare": true}`` starts a spare cage's agent,
    which answers ``ping`` and waits for a ``claim`` request carrying the real config.
    """
    Agent(int(argv[1]), argv[2]).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
