"""encode_key: the xterm encoding of every key the widget forwards."""

from __future__ import annotations

import string

import pytest

from caged_tui.widgets.terminal.keys import encode_key

ESC = "\x1b"

# (textual key, character, expected) in normal cursor mode.
CASES: list[tuple[str, str | None, str | None]] = [
    # printable
    ("a", "a", "a"),
    ("A", "A", "A"),
    ("shift+a", "A", "A"),
    ("space", " ", " "),
    ("exclamation_mark", "!", "!"),
    ("eacute", "\u00e9", "\u00e9"),
    # cursor keys, unmodified
    ("up", None, f"{ESC}[A"),
    ("down", None, f"{ESC}[B"),
    ("right", None, f"{ESC}[C"),
    ("left", None, f"{ESC}[D"),
    ("home", None, f"{ESC}[H"),
    ("end", None, f"{ESC}[F"),
    # cursor keys with xterm modifier parameters
    ("shift+up", None, f"{ESC}[1;2A"),
    ("alt+down", None, f"{ESC}[1;3B"),
    ("shift+alt+right", None, f"{ESC}[1;4C"),
    ("ctrl+up", None, f"{ESC}[1;5A"),
    ("ctrl+shift+left", None, f"{ESC}[1;6D"),
    ("ctrl+alt+left", None, f"{ESC}[1;7D"),
    ("ctrl+shift+alt+right", None, f"{ESC}[1;8C"),
    ("ctrl+home", None, f"{ESC}[1;5H"),
    ("shift+end", None, f"{ESC}[1;2F"),
    # editing keys
    ("insert", None, f"{ESC}[2~"),
    ("delete", None, f"{ESC}[3~"),
    ("pageup", None, f"{ESC}[5~"),
    ("pagedown", None, f"{ESC}[6~"),
    ("ctrl+delete", None, f"{ESC}[3;5~"),
    ("shift+pageup", None, f"{ESC}[5;2~"),
    # function keys
    ("f1", None, f"{ESC}OP"),
    ("f2", None, f"{ESC}OQ"),
    ("f3", None, f"{ESC}OR"),
    ("f4", None, f"{ESC}OS"),
    ("f5", None, f"{ESC}[15~"),
    ("f6", None, f"{ESC}[17~"),
    ("f7", None, f"{ESC}[18~"),
    ("f8", None, f"{ESC}[19~"),
    ("f9", None, f"{ESC}[20~"),
    ("f10", None, f"{ESC}[21~"),
    ("f11", None, f"{ESC}[23~"),
    ("f12", None, f"{ESC}[24~"),
    ("shift+f1", None, f"{ESC}[1;2P"),
    ("ctrl+f5", None, f"{ESC}[15;5~"),
    # control keys
    ("ctrl+a", "\x01", "\x01"),
    ("ctrl+c", "\x03", "\x03"),
    ("ctrl+d", "\x04", "\x04"),
    ("ctrl+z", "\x1a", "\x1a"),
    ("ctrl+@", "\x00", "\x00"),
    ("ctrl+at", None, "\x00"),
    ("ctrl+space", None, "\x00"),
    ("ctrl+backslash", None, "\x1c"),
    ("ctrl+right_square_bracket", None, "\x1d"),
    ("ctrl+circumflex_accent", None, "\x1e"),
    ("ctrl+underscore", None, "\x1f"),
    ("ctrl+slash", None, "\x1f"),
    ("ctrl+left_square_bracket", None, ESC),
    # alt prefixes ESC
    ("alt+x", "x", f"{ESC}x"),
    ("alt+shift+x", "X", f"{ESC}X"),
    ("alt+ctrl+a", None, f"{ESC}\x01"),
    ("alt+enter", None, f"{ESC}\r"),
    ("alt+backspace", None, f"{ESC}\x7f"),
    ("alt+space", " ", f"{ESC} "),
    # Alt keys named without their character (kitty protocol, Pilot): issue 17
    ("alt+full_stop", None, f"{ESC}."),
    ("alt+comma", None, f"{ESC},"),
    ("alt+less_than_sign", None, f"{ESC}<"),
    ("alt+greater_than_sign", None, f"{ESC}>"),
    ("alt+underscore", None, f"{ESC}_"),
    ("alt+slash", None, f"{ESC}/"),
    ("alt+1", None, f"{ESC}1"),
    ("alt+b", None, f"{ESC}b"),
    ("ctrl+h", None, "\x08"),
    ("backspace", "\x08", "\x08"),  # the host's ctrl+h, named backspace by Textual
    # tab, enter, escape, backspace
    ("tab", "\t", "\t"),
    ("shift+tab", None, f"{ESC}[Z"),
    ("enter", "\r", "\r"),
    ("escape", "\x1b", ESC),
    ("backspace", "\x7f", "\x7f"),
    ("ctrl+backspace", None, "\x08"),
    # nothing a terminal understands
    ("ctrl+1", None, None),
    ("f13", None, f"{ESC}[1;2P"),  # xterm's shift+F1
    ("f24", None, f"{ESC}[24;2~"),
    ("hyper", None, None),
]


@pytest.mark.parametrize(("key", "character", "expected"), CASES)
def test_encode_key(key: str, character: str | None, expected: str | None) -> None:
    assert encode_key(key, character) == expected


APP_CURSOR_CASES = [
    ("up", f"{ESC}OA"),
    ("down", f"{ESC}OB"),
    ("right", f"{ESC}OC"),
    ("left", f"{ESC}OD"),
    ("home", f"{ESC}OH"),
    ("end", f"{ESC}OF"),
    # Modified keys ignore DECCKM (xterm).
    ("ctrl+up", f"{ESC}[1;5A"),
    # Keys outside the cursor set are unchanged.
    ("pageup", f"{ESC}[5~"),
    ("f1", f"{ESC}OP"),
]


@pytest.mark.parametrize(("key", "expected"), APP_CURSOR_CASES)
def test_application_cursor_mode(key: str, expected: str) -> None:
    assert encode_key(key, None, app_cursor=True) == expected


@pytest.mark.parametrize("letter", string.ascii_lowercase)
def test_every_ctrl_letter_maps_to_c0(letter: str) -> None:
    assert encode_key(f"ctrl+{letter}", None) == chr(ord(letter) - ord("a") + 1)
