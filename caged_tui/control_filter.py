"""The last guard between sandbox text and the host terminal.

Textual writes a widget's text to the terminal as it is, so a control character that
reaches a segment — an ``ESC ] 52`` in a file name, an ``ESC c`` in a log line — would be
obeyed by the host terminal: its clipboard set, its screen reset. Widgets escape what
they paint (:mod:`caged_tui.safe_text`); this filter, applied by the app to every line of
every widget, drops any control character a widget missed, so one forgotten escape is a
missing glyph, never a command. Control characters occupy no cells, so dropping them
keeps every line's width. Textual's own control segments (cursor moves) are left alone,
as are format characters (a ZWJ joins an emoji).
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

__all__ = ["ControlFilter"]

# C0, DEL and C1: the characters a terminal may act on.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class ControlFilter(LineFilter):
    """Drops control characters from the text of rendered segments."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The segments, any with a control character in its text replaced."""
        search = _CONTROL.search
        if not any(search(text) for text, _, control in segments if not control):
            return segments
        return [
            segment
            if segment.control or not search(segment.text)
            else Segment(_CONTROL.sub("", segment.text), segment.style)
            for segment in segments
        ]
