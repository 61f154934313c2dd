"""A line of text that repaints in place: for status lines updated many times a second.

``Static.update`` lays the whole screen out again (its size may depend on the text);
measured on the replay screen, that layout was most of each 64x playback step. A
:class:`TextLine` has a fixed height of one row, so a new text is only a repaint.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class TextLine(Widget):
    """One row of (rich) text; setting :attr:`text` repaints it without a layout."""

    DEFAULT_CSS = """
    TextLine {
        height: 1;
    }
    """

    text: reactive[Text | str] = reactive("", layout=False)

    def render(self) -> Text | str:
        return self.text
