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


def _text_depth_ok(text: str) -> bool:
    """Whether valid JSON ``text`` nests at most :data:`MAX_DEPTH` levels."""
    # Without an escaped quote every quote opens or closes a string, so the text outside
    # strings is every other piece between quotes (twice as fast as the pattern).
    outside = _STRING.sub("", text) if '\\"' in text else "".join(text.split('"')[::2])
    brackets = _NOT_BRACKETS.sub("", outside)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) <= MAX_DEPTH


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
    if isinstance(text, bytes) and json.detect_encoding(text) == "utf-8":
        text = text.decode("utf-8")  # json.loads decoded it already: this cannot fail
    if not (_text_depth_ok(text) if isinstance(text, str) else _depth_ok(value)):
        raise TooDeep()
    return value
