"""What the host terminal sent for Alt keys, kept for the programs in a terminal.

xterm (``metaSendsEscape``), tmux, GNOME Terminal and most others send Alt+<key> as ``ESC`` followed
by the key. Textual's :class:`~textual._xterm_parser.XTermParser` loses most of them:

* ``ESC .`` (and any Alt+punctuation) waits for more input and then comes out as ``.``;
* ``ESC b`` / ``ESC f`` become ``ctrl+left`` / ``ctrl+right`` (iTerm's "natural editing"),
  ``ESC DEL`` becomes ``ctrl+w``, ``ESC 1`` becomes ``¡`` (macOS Option keys).

Those mappings suit the app's inputs, so :class:`HostKeyParser` keeps Textual's key names where it
has one, names the rest ``alt+<key>``, and hands every such key over as a :class:`Key` whose
:attr:`Key.sent` holds the exact bytes: a terminal passes them on verbatim, like a real one.

Textual's Linux driver builds its parser from the module's global name inside its input thread,
with no hook for another parser; :func:`use_host_key_parser` replaces that name (textual is pinned
in ``constraints.txt``; ``tests/unit/terminal/test_host_keys.py`` checks the driver
still reads it).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from textual import events
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual._xterm_parser import XTermParser
from textual.app import App

ESC = "\x1b"

#: After ``ESC`` these start longer sequences (CSI, SS3; alone they arrive on the parser's
#: timeout) or another key (ESC).
_NOT_ALT = frozenset("[O" + ESC)


class Key(events.Key):
    """A key press with what the host terminal sent for it.

    The class keeps Textual's name (``Key``) so handlers stay ``on_key``.

    Args:
        key: Textual's key name.
        character: The printable character, if any.
        sent: The host terminal's bytes, to pass on verbatim (``None``: encode from ``key``).
    """

    def __init__(self, key: str, character: str | None, sent: str | None = None) -> None:
        super().__init__(key, character)
        self.sent = sent


class HostKeyParser(XTermParser):
    """Textual's parser, except that ``ESC <key>`` is an Alt key carrying its bytes."""

    def _sequence_to_key_events(self, sequence: str, alt: bool = False) -> Iterable[events.Key]:
        if alt and len(sequence) == 1:
            # A lone ESC + key that waited for the timeout ("ESC [", "ESC O").
            return [self._alt_key(sequence)]
        # ESC ESC stays Textual's (escape, then a new sequence).
        if len(sequence) == 2 and sequence[0] == ESC and sequence[1] not in _NOT_ALT:
            return [self._alt_key(sequence[1])]
        return super()._sequence_to_key_events(sequence, alt)

    def _alt_key(self, character: str) -> Key:
        """``ESC`` + ``character``: Textual's name when it maps the pair, else ``alt+<key>``."""
        sent = ESC + character
        if sent in ANSI_SEQUENCES_KEYS:
            (mapped,) = super()._sequence_to_key_events(sent)
            return Key(mapped.key, mapped.character, sent)
        (plain,) = super()._sequence_to_key_events(character)
        name = plain.key
        if len(name) == 1 and name.isupper():
            name = f"shift+{name.lower()}"
        return Key(f"alt+{name}", plain.character, sent)


def takes_every_key(widget: object) -> bool:
    """Whether the focused ``widget`` takes every key before the app's priority bindings
    (``ctrl+q``, ``ctrl+p``) see it: a connected terminal with no prefix pending says so with
    ``captures_keys``. Apps hosting a terminal ask this before their priority bindings."""
    return getattr(widget, "captures_keys", False) is True


def hand_key_to_terminal(app: App[Any], event: events.Event) -> bool:
    """Give a key the driver posted straight to the focused terminal, before Textual routes it
    through the priority bindings and the widget's message queue; True if the terminal took it.

    Apps hosting a terminal call this first in ``on_event`` (the terminal's ``take_key`` says
    when a key must take the usual route). Not while the app has not had a key yet (Textual then
    marks it focused) or a widget is maximized (``escape`` restores it).
    """
    if not isinstance(event, events.Key) or event.is_forwarded or not app.app_focus:
        return False
    take_key = getattr(app.focused, "take_key", None)
    if take_key is None or app.screen.maximized is not None:
        return False
    return take_key(event) is True


def use_host_key_parser() -> None:
    """Make Textual's Linux driver parse the keyboard with :class:`HostKeyParser`."""
    if sys.platform == "win32":  # pragma: no cover - the Windows driver has its own reader.
        return
    from textual.drivers import linux_driver

    linux_driver.XTermParser = HostKeyParser  # type: ignore[attr-defined]
