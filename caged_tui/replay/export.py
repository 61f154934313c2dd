"""A session, exported: all its events as JSON Lines, its terminal as asciinema v2.

asciinema v2 (``.cast``): a first line with the header object (``version`` 2,
``width``, ``height``, optional ``timestamp``, ``title``, ``idle_time_limit``),
then one ``[seconds, "o", text]`` array per output chunk (``[seconds, "r",
"COLSxROWS"]`` per resize), seconds relative to the start and never decreasing —
what ``asciinema play`` reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

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
