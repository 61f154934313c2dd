"""Long-polled conditional GETs: ``If-None-Match`` with ``Prefer: wait=N`` (RFC 7240).

A local-platform extension (the hosted API ignores ``Prefer``, and clients must
work without it): a GET of one of :data:`HOLDABLE` whose ``If-None-Match`` still
matches is held until its answer would change or ``N`` seconds pass, and then
answered as usual — ``200`` with the new body and ``ETag``, or ``304`` — with
``Preference-Applied: wait=N``. The TUI's live feed spends one request per change
(or per ``N`` seconds) instead of one per poll, and a new alert still reaches it at
once: the held request returns when the alert is raised.

While held, a request waits on its account's :class:`~caged_platform.changes.Changes`
and recomputes its answer at each bump. Limits: ``N`` is clamped to
:data:`MAX_WAIT`; an account holds at most :data:`MAX_HELD` requests (one more is
answered at once, without ``Preference-Applied``: the client then knows to poll);
every held request is released (``304``) when the server starts shutting down, and
one whose client closed the connection is dropped at once.
A held request has sent its whole head, so the connection guard never counts it
as an idle connection to close or evict.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from caged_platform.changes import Changes

__all__ = ["HOLDABLE", "MAX_HELD", "MAX_WAIT", "Holds", "requested_wait"]

#: The longest a request is held, in seconds (a longer ``wait`` is clamped).
MAX_WAIT = 60
#: Held requests per account at most.
MAX_HELD = 16
#: The routes (under ``/v1``) whose GETs may be held: what the live feed watches.
HOLDABLE = frozenset({"/sandboxes", "/alerts", "/notifications", "/notifications/unread-count"})

_WAIT = re.compile(r"^\s*wait\s*=\s*\"?(\d{1,9})\"?\s*(?:;.*)?$", re.IGNORECASE)


def requested_wait(prefer: str | None) -> int | None:
    """The seconds asked for by a ``Prefer`` header's ``wait`` preference, clamped to
    :data:`MAX_WAIT`; None without one (other preferences are ignored)."""
    for preference in (prefer or "").split(","):
        found = _WAIT.match(preference)
        if found:
            return min(int(found[1]), MAX_WAIT)
    return None


class Holds:
    """The held requests of one server: the change signal they wait on and the cap."""

    def __init__(self, changes: Changes, *, max_held: int = MAX_HELD) -> None:
        self.changes = changes
        self.max_held = max_held
        self._held: Counter[str] = Counter()

    def held(self, account_id: str) -> int:
        """How many of the account's requests are held now."""
        return self._held[account_id]

    async def answer(
        self,
        request: Request,
        account_id: str,
        compute: Callable[[], Awaitable[Response]],
    ) -> Response:
        """``compute()``'s answer, held as the module docstring says when the request
        asks for it and may be held."""
        wait = requested_wait(request.headers.get("prefer"))
        version = self.changes.version(account_id)
        response = await compute()
        if (
            wait is None
            or response.status_code != 304
            or request.method != "GET"
            or self._held[account_id] >= self.max_held
        ):
            return response
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        self._held[account_id] += 1
        # A client that goes away (an app closed) must not keep its place in the cap.
        gone = asyncio.ensure_future(_disconnected(request))
        try:
            while True:
                changed = asyncio.ensure_future(
                    self.changes.wait_past(account_id, version, deadline - loop.time())
                )
                await asyncio.wait({changed, gone}, return_when=asyncio.FIRST_COMPLETED)
                if not changed.done():  # gone: the answer has nowhere to go
                    await _cancelled(changed)
                    break
                if not changed.result():
                    break
                version = self.changes.version(account_id)
                response = await compute()
                if response.status_code != 304:
                    break
        finally:
            self._held[account_id] -= 1
            await _cancelled(gone)
        response.headers["Preference-Applied"] = f"wait={wait}"
        return response


async def _disconnected(request: Request) -> None:
    """Return when the client closes the connection (a GET's body, empty, comes first)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _cancelled(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
