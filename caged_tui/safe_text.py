"""Text from the platform made safe to paint: control characters shown, never obeyed.

Names and messages come from whoever holds a key (an API key's name, a client's user
agent, an alert's title built from a sandbox id). A terminal interprets an escape
sequence wherever it appears, so such text is painted with its control characters
written out (``\\x1b``, ``\\n``), the way ``repr`` would, but keeping everything
printable — accents, CJK, emoji — as it is.
"""

from __future__ import annotations

import unicodedata

__all__ = ["controls_escaped", "pasteable", "printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


# Categories never painted as they are: controls, format characters (bidi overrides),
# line and paragraph separators.
_UNSHOWN = ("Cc", "Cf", "Zl", "Zp")


def printable(text: str) -> str:
    """``text`` with every control or format character (C0, DEL, C1, bidi overrides)
    escaped; unchanged when it has none."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(
        _escape(char) if char == "\\" or unicodedata.category(char) in _UNSHOWN else char
        for char in text
    )


def controls_escaped(text: str, keep: str = "") -> str:
    """``text`` with control and format characters escaped as :func:`printable` does, its
    backslashes left as they are: the last guard of a widget that paints any text (text
    escaped by :func:`printable` before stays the same). ``keep``: characters left as they
    are (newlines and tabs, for a widget that lays them out itself)."""
    if text.isprintable():
        return text
    return "".join(
        _escape(char) if char not in keep and unicodedata.category(char) in _UNSHOWN else char
        for char in text
    )


def pasteable(text: str) -> str:
    """``text`` as it may go on the clipboard: unchanged when every character is printable,
    else as a shell's ``$'…'`` word of printable characters only, which bash, zsh and ksh
    read back as ``text``. A sandbox can name a file ``x\nrm -rf ~``: pasted raw into a
    shell, the newline runs the rest. Quoting it is not enough: a pasted ctrl+c is a SIGINT
    from the tty that drops the line, opening quote and all, before the rest is typed."""
    if text.isprintable():
        return text
    return "$'" + "".join(map(_ansi_c, text)) + "'"


def _ansi_c(char: str) -> str:
    """``char`` inside ``$'…'``: printable as it is, the rest as fixed-width escapes (a
    following hex digit is never read as part of them)."""
    if char in "\\'":
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    # \x writes a byte: only below 0x80 is it the character's UTF-8.
    return (
        f"\\x{code:02x}"
        if code < 0x80
        else f"\\u{code:04x}"
        if code <= 0xFFFF
        else f"\\U{code:08x}"
    )
