"""A session, exported: all its events as JSON Lines, its terminal as asciinema v2,
into a file the user named (:class:`ExportFile`).

asciinema v2 (``.cast``): a first line with the header object (``version`` 2,
``width``, ``height``, optional ``timestamp``, ``title``, ``idle_time_limit``),
then one ``[seconds, "o", text]`` array per output chunk (``[seconds, "r",
"COLSxROWS"]`` per resize), seconds relative to the start and never decreasing —
what ``asciinema play`` reads.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from caged_core.models import ReplayEvent

from .events import is_terminal_output, terminal_resize, terminal_text


def jsonl_lines(events: Iterable[ReplayEvent]) -> Iterator[str]:
    """Each event as one line of JSON (the wire shape), newline included."""
    for event in events:
        yield event.model_dump_json() + "\n"


def cast_header(
    width: int, height: int, *, start: datetime | None, title: str, idle_time_limit: float
) -> str:
    """The header line of a ``.cast`` file, newline included."""
    header: dict[str, object] = {"version": 2, "width": width, "height": height}
    if start is not None:
        header["timestamp"] = int(start.timestamp())
    header["idle_time_limit"] = idle_time_limit
    header["title"] = title
    header["env"] = {"TERM": "xterm-256color"}
    return json.dumps(header) + "\n"


class CastWriter:
    """Turns terminal-output events into ``.cast`` event lines, relative to ``start``."""

    def __init__(self, start: datetime | None) -> None:
        self._start = start
        self._last = 0.0
        self.chunks = 0

    def lines(self, events: Iterable[ReplayEvent]) -> Iterator[str]:
        """The output lines of ``events`` (other events are skipped)."""
        for event in events:
            size = terminal_resize(event)
            if size is None and not is_terminal_output(event):
                continue
            if self._start is None:
                self._start = event.timestamp
            offset = 0.0
            if self._start is not None and event.timestamp is not None:
                offset = (event.timestamp - self._start).total_seconds()
            self._last = max(self._last, offset)  # a clock step back must not go back in time
            self.chunks += 1
            if size is not None:
                yield json.dumps([round(self._last, 6), "r", f"{size[0]}x{size[1]}"]) + "\n"
            else:
                yield json.dumps([round(self._last, 6), "o", terminal_text(event)]) + "\n"


def default_export_name(session_id: str, suffix: str) -> str:
    """The file name an export of ``session_id`` is offered under: the id with every
    character but letters, digits, ``_``, ``-`` and ``.`` replaced and no leading dot. The
    id is not the user's choice (whoever ingests events names their session), so it must
    not make the name a path (``../``), hide it or write control characters."""
    name = re.sub(r"[^\w.-]", "_", session_id)
    if name.startswith("."):
        name = "_" + name.lstrip(".")
    return name + suffix


def export_path(answer: str, default_name: str, cwd: Path) -> Path:
    """The file an export dialog's answer names: ``~`` expanded, relative to ``cwd``,
    ``default_name`` inside it when the answer is a folder (ends with ``/`` or is one)."""
    path = Path(answer.strip()).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if answer.strip().endswith(os.sep) or path.is_dir():
        path = path / default_name
    return Path(os.path.normpath(path))


class ExportFile:
    """An export written beside its destination and moved into place once complete:
    a failure half-way leaves no half file, and an existing file is replaced whole
    only when ``overwrite`` says so (otherwise :meth:`open` raises FileExistsError).
    Blocking: call it from a thread."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self._part: Path | None = None
        self._handle: TextIO | None = None

    def open(self) -> None:
        """Check the destination and start the file beside it."""
        if not self.overwrite and os.path.lexists(self.path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(self.path))
        if self.path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.path))
        # A new file of a name nobody could guess (O_EXCL: a link planted in a folder
        # others write, such as /tmp, is never followed), readable by its owner only: a
        # session's events may hold whatever was typed or shown in it.
        fd, part = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent
        )
        self._part = Path(part)
        self._handle = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, lines: list[str]) -> None:
        """Append ``lines`` (newlines included)."""
        assert self._handle is not None, "open() first"
        self._handle.writelines(lines)

    def commit(self) -> None:
        """Finish the file and move it to the destination."""
        assert self._handle is not None and self._part is not None, "open() first"
        self._handle.close()
        if not self.overwrite and os.path.lexists(self.path):  # appeared while writing
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(self.path))
        os.replace(self._part, self.path)

    def discard(self) -> None:
        """Drop what was written (after a failure)."""
        if self._handle is not None and self._part is not None:
            self._handle.close()
            self._part.unlink(missing_ok=True)
