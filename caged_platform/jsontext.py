"""Parsing JSON from clients with a nesting limit.

``json.loads`` recurses once per level and raises :class:`RecursionError` (not a
``ValueError``) on input such as 100,000 ``[``; nesting that it still accepts can
make later code that walks the value recursively (validation, re-encoding) fail
the same way. Every JSON text a client sends — request bodies, terminal frames,
MCP messages — is parsed here, so that deep nesting is one clean refusal.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "TooDeep", "loads"]

#: Deepest nesting of arrays and objects accepted. Far beyond any request of the
#: contract (event payloads are the deepest, at a few levels), far below recursion limits.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """The JSON text nests arrays/objects deeper than :data:`MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"arrays and objects are nested more than {MAX_DEPTH} levels deep")


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
    if not _depth_ok(value):
        raise TooDeep()
    return value
