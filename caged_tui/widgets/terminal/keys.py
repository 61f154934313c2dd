"""Textual key events → the bytes an xterm sends.

:func:`encode_key` takes a Textual key name (``"ctrl+shift+up"``) and the event's character and
returns the string to write to the PTY, or ``None`` when the key has no terminal meaning.

Encoding follows xterm:

* cursor keys and Home/End: ``ESC [ x``, or ``ESC O x`` in application cursor mode (DECCKM);
  with modifiers ``ESC [ 1 ; m x`` where ``m = 1 + shift + 2·alt + 4·ctrl + 8·meta``;
* Insert/Delete/PgUp/PgDn and F5-F12: ``ESC [ n ~`` (``ESC [ n ; m ~`` with modifiers);
* F1-F4: ``ESC O P..S`` (``ESC [ 1 ; m P..S`` with modifiers);
* ``ctrl+<letter>`` → C0 (``ctrl+a`` → ``\\x01``), ``ctrl+space``/``ctrl+@`` → NUL,
  ``ctrl+[ \\ ] ^ _`` → ``\\x1b \\x1c \\x1d \\x1e \\x1f``;
* F13-F24 (Textual's names for shift+F1-F12 on some terminals): as shift+F1-F12;
* ``alt+<key>`` → ``ESC`` + the key's encoding (xterm's ``metaSendsEscape``); a key named without
  its character (``alt+full_stop`` from the kitty protocol or Pilot) types Textual's character for
  the name;
* Enter → ``\\r``, Backspace → ``\\x7f`` (``ctrl+backspace`` and ``ctrl+h`` → ``\\x08``; a host
  terminal that sends ``\\x08`` for ctrl+h gets it passed on), Tab → ``\\t``,
  Shift+Tab → ``ESC [ Z``, Escape → ``ESC``.

Keypad keys arrive from the host terminal as the characters they type (Textual does not ask for
them apart), so they reach the program as those characters.
"""

from __future__ import annotations

from textual import events
from textual.keys import KEY_NAME_REPLACEMENTS, key_to_character

from caged_tui.host_keys import Key as HostKey

ESC = "\x1b"

_MODIFIER_BITS = {"shift": 1, "alt": 2, "ctrl": 4, "meta": 8, "super": 8}

#: Keys whose unmodified form depends on DECCKM: name -> final byte.
_CURSOR_KEYS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}

#: Keys sent as ``ESC [ n ~``: name -> n.
_TILDE_KEYS = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}

#: F1-F4 use SS3 (``ESC O``) unmodified: name -> final byte.
_SS3_FUNCTION_KEYS = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}

#: Textual's short key names -> the Unicode-derived names its key_to_character knows.
_UNICODE_NAMES = {short: long for long, short in KEY_NAME_REPLACEMENTS.items()}

#: F13-F24 are xterm's shift+F1-F12: name -> (the unshifted key).
_SHIFTED_FUNCTION_KEYS = {f"f{n + 12}": f"f{n}" for n in range(1, 13)}

#: Keys with a fixed encoding, before modifiers.
_PLAIN_KEYS = {
    "enter": "\r",
    "tab": "\t",
    "escape": ESC,
    "backspace": "\x7f",
    "space": " ",
}

#: ``ctrl+<punctuation>`` in Textual's key names -> C0 control.
_CTRL_PUNCTUATION = {
    "@": "\x00",
    "at": "\x00",
    "space": "\x00",
    "left_square_bracket": ESC,
    "backslash": "\x1c",
    "right_square_bracket": "\x1d",
    "circumflex_accent": "\x1e",
    "underscore": "\x1f",
    "minus": "\x1f",
    "slash": "\x1f",
    "question_mark": "\x7f",
}


def _split(key: str) -> tuple[frozenset[str], str]:
    """``"ctrl+shift+up"`` → ``({"ctrl", "shift"}, "up")``; a lone ``"+"`` is a key."""
    if key == "+" or "+" not in key:
        return frozenset(), key
    *modifiers, name = key.split("+")
    if name == "":  # e.g. "ctrl++"
        name = "+"
    return frozenset(modifiers), name


def _modifier_param(modifiers: frozenset[str]) -> int:
    return 1 + sum(_MODIFIER_BITS.get(modifier, 0) for modifier in modifiers)


def encode_key(key: str, character: str | None, *, app_cursor: bool = False) -> str | None:
    """Encode one key press.

    Args:
        key: Textual's key name (``events.Key.key``), e.g. ``"a"``, ``"ctrl+c"``, ``"shift+up"``.
        character: ``events.Key.character`` (the printable character, if any).
        app_cursor: DECCKM is set (application cursor keys).

    Returns:
        The string to send, or ``None`` if the key means nothing to a terminal.
    """
    modifiers, name = _split(key)
    if name in _SHIFTED_FUNCTION_KEYS:
        modifiers, name = modifiers | {"shift"}, _SHIFTED_FUNCTION_KEYS[name]

    if name in _CURSOR_KEYS:
        final = _CURSOR_KEYS[name]
        if modifiers:
            return f"{ESC}[1;{_modifier_param(modifiers)}{final}"
        return f"{ESC}{'O' if app_cursor else '['}{final}"
    if name in _TILDE_KEYS:
        number = _TILDE_KEYS[name]
        if modifiers:
            return f"{ESC}[{number};{_modifier_param(modifiers)}~"
        return f"{ESC}[{number}~"
    if name in _SS3_FUNCTION_KEYS:
        final = _SS3_FUNCTION_KEYS[name]
        if modifiers:
            return f"{ESC}[1;{_modifier_param(modifiers)}{final}"
        return f"{ESC}O{final}"

    alt = "alt" in modifiers or "meta" in modifiers
    prefix = ESC if alt else ""
    rest = modifiers - {"alt", "meta"}

    if name == "tab":
        if "shift" in rest:
            return f"{prefix}{ESC}[Z"
        return prefix + "\t"
    if name == "backspace":
        # Textual names the host's \x08 (ctrl+h on most terminals) "backspace" too.
        return prefix + ("\x08" if "ctrl" in rest or character == "\x08" else "\x7f")
    if name in ("enter", "escape") and not rest - {"shift"}:
        return prefix + _PLAIN_KEYS[name]

    if "ctrl" in rest:
        control = _control_character(name)
        return None if control is None else prefix + control

    text = _printable(name, character)
    if text is None:
        return None
    if "shift" in rest and len(text) == 1 and text.isalpha():
        text = text.upper()
    return prefix + text


def encode_event(event: events.Key, *, app_cursor: bool = False) -> str | None:
    """The bytes for a key event: what the host terminal sent for an Alt key (see
    :mod:`caged_tui.host_keys`), else :func:`encode_key`."""
    if isinstance(event, HostKey) and event.sent is not None:
        return event.sent
    return encode_key(event.key, event.character, app_cursor=app_cursor)


def _control_character(name: str) -> str | None:
    """The C0 control for ``ctrl+<name>``."""
    if len(name) == 1 and name.isascii() and name.isalpha():
        return chr(ord(name.lower()) & 0x1F)
    return _CTRL_PUNCTUATION.get(name)


def _printable(name: str, character: str | None) -> str | None:
    """The text a key types: its character, else the single-character key name."""
    if name in _PLAIN_KEYS:
        return _PLAIN_KEYS[name]
    if character and character.isprintable():
        return character
    if len(name) == 1:
        return name
    return key_to_character(_UNICODE_NAMES.get(name, name))
