"""Parsing JSON from clients with a nesting limit.

``json.loads`` recurses once per level and raises :class:`RecursionError` (not a
``ValueError``) on input such as 100,000 ``[``; nesting that it still accepts can
make later code that walks the value recursively (validation, re-encoding) fail
the same way. Every JSON text a client sends — request bodies, terminal frames,
MCP messages — is parsed here, so that deep nesting is one clean refusal.

The depth is measured on the text, not on the parsed value: with its strings cut
out, valid JSON nests exactly as its brackets do, and counting brackets is done by
C code (an event batch has a few thousand, against hundreds of thousands of values).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DEPTH", "TooDeep", "loads"]

#: Deepest nesting of arrays and objects accepted. Far beyond any request of the
#: contract (event payloads are the deepest, at a few levels), far below recursion limits.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """The JSON text nests arrays/objects deeper than :data:`MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"arrays and objects are nested more than {MAX_DEPTH} levels deep")


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Every byte but quotes, backslashes and brackets: what bytes.translate deletes (C speed).
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"\\[]{}')
# An innermost pair: in valid JSON with strings cut out, brackets nest properly.
_INNERMOST = re.compile(rb"\[\]|\{\}")


# Passes of _INNERMOST before counting what is left bracket by bracket.
_PASSES = 4


def _depth(brackets: str) -> int:
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _brackets_depth_ok(brackets: bytes) -> bool:
    # Each pass removes the innermost pairs (in C), one level: valid JSON is balanced, so
    # brackets nesting a few levels (payloads) are gone after a few passes. What deeper
    # nesting leaves is counted by _depth, so no input costs more passes than _PASSES.
    for _ in range(_PASSES):
        if not brackets:
            return True
        brackets = _INNERMOST.sub(b"", brackets)
    return _depth(brackets.decode("ascii")) <= MAX_DEPTH - _PASSES


def _text_depth_ok(text: str | bytes) -> bool:
    """Whether valid JSON ``text`` (a ``str``, or bytes in UTF-8) nests at most
    :data:`MAX_DEPTH` levels."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    structure = raw.translate(None, _NOT_STRUCTURE)
    if b"\\" not in structure:
        # No escapes: a string with no bracket in it is left as two adjacent quotes, and
        # dropping pairs of quotes left to right drops exactly the strings. A quote left
        # over means a string held a bracket: the general path below.
        brackets = structure.replace(b'""', b"")
        if b'"' not in brackets:
            return _brackets_depth_ok(brackets)
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    # Without an escaped quote every quote opens or closes a string, so the text outside
    # strings is every other piece between quotes (twice as fast as the pattern).
    outside = _STRING.sub("", text) if '\\"' in text else "".join(text.split('"')[::2])
    return _depth(_NOT_BRACKETS.sub("", outside)) <= MAX_DEPTH


def _depth_ok(value: Any) -> bool:
    # Iterative, so that checking cannot hit the recursion limit it guards against.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises :class:`TooDeep` (a ``ValueError``) for deep nesting.

    Other malformed input raises what ``json.loads`` raises: ``json.JSONDecodeError``
    or ``UnicodeDecodeError``, both ``ValueError`` too.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    # UTF-8 bytes are read as they are (json.loads decoded them already: they are valid).
    utf8 = isinstance(text, str) or json.detect_encoding(text) == "utf-8"
    if not (_text_depth_ok(text) if utf8 else _depth_ok(value)):
        raise TooDeep()
    return value
