"""Conditional GETs: every JSON answer to a GET carries an ``ETag``, and a client that
sends it back in ``If-None-Match`` gets ``304 Not Modified`` without the body.

The TUI's live feed polls lists every few seconds; a ``304`` spares it the
parsing, the comparison and the repaint of a list that did not change.

The validator is strong and computed over the body by default: no change
counter has to be kept in step with every write path. A handler whose answer
drifts with the clock alone (running sandboxes' costs grow every second) sets a
weak one itself with :func:`weak`: RFC 9110 §8.8.1 describes exactly that use —
representations that change every second grouped into "semantically equivalent"
sets so that cached copies stay valid for a while.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["conditional", "matches", "strong", "weak"]


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def strong(body: bytes) -> str:
    """The strong validator of a body: equal exactly when the bytes are."""
    return f'"{_digest(body)}"'


def weak(validator: bytes) -> str:
    """A weak validator over ``validator``: what the handler counts as "the same"."""
    return f'W/"{_digest(validator)}"'


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, as RFC 9110
    §13.1.2 asks for this header; ``*`` matches any current representation)."""
    if not if_none_match:
        return False
    wanted = _opaque(etag)
    return any(
        candidate.strip() == "*" or _opaque(candidate) == wanted
        for candidate in if_none_match.split(",")
    )


def conditional(request: Request, response: Response) -> Response:
    """Give a successful JSON answer to a GET its ``ETag`` (the handler's own, else a
    strong one over the body) and answer ``304`` when the client already has it.

    Anything else — other methods, statuses, streamed bodies — passes unchanged.
    """
    body = getattr(response, "body", None)
    if (
        request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or response.media_type != "application/json"
        or not isinstance(body, bytes)
    ):
        return response
    etag = response.headers.get("etag") or strong(body)
    if matches(request.headers.get("if-none-match"), etag):
        # A 304 carries the validator (and nothing else of the body's headers).
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return response
