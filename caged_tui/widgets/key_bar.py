"""The footer as one rendered line: the keys of the screen in front.

Textual's ``Footer`` is a grid of one widget per key, recomposed whenever the
bindings change: with ~25 keys that was a large share of the app's first
paint and of every layout. This widget renders the same information as a
single line of text (keys from ``Screen.active_bindings`` after the user's
keymap, one entry per action, disabled ones dimmed) and maps a click back to
the key under the pointer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.screen import Screen


class KeyBar(Widget):
    """One line of key hints docked at the bottom of a screen."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description"}

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        #: (start, end, key) of each hint in the last render, for clicks.
        self._spans: list[tuple[int, int, str]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        line = Text(no_wrap=True, overflow="crop")
        self._spans = []
        seen: set[str] = set()
        palette = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or binding.action in seen or key == palette:
                continue
            seen.add(binding.action)
            start = len(line)
            dim = Style(dim=not active.enabled)
            line.append(f" {self.app.get_key_display(binding)} ", key_style + dim)
            line.append(f"{binding.description} ", description_style + dim)
            self._spans.append((start, len(line), key))
        if palette and palette in self.screen.active_bindings:
            hint = Text.assemble(
                (
                    f" {self.app.get_key_display(self.screen.active_bindings[palette].binding)} ",
                    key_style,
                ),
                ("palette ", description_style),
            )
            gap = self.size.width - len(line) - len(hint)
            if gap > 0:
                start = len(line) + gap
                line.append(" " * gap)
                line.append_text(hint)
                self._spans.append((start, len(line), palette))
        return line

    def on_click(self, event: events.Click) -> None:
        """A click on a hint presses its key."""
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
