"""What held (long-polled) GETs wait on: one change counter per account.

The services call :meth:`Changes.bump` after every write to what the live feed's
routes show — a sandbox row inserted or moved, an alert raised, notifications
created, any successful write request (resolve, mark read, pause…). A held
request (:mod:`caged_platform.http.longpoll`) waits until its account's counter
moves past the one it saw, then recomputes its answer: a bump is a hint to look
again, never a promise that the answer changed, so bumping too often costs a
recomputation and bumping everywhere cannot go wrong.

Single-threaded by design: bumps come from the event loop (the services' writes
are awaited there), so an :class:`asyncio.Event` per account is enough.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Changes", "unwatched"]


class Changes:
    """Per-account change counters that held requests wait on; :meth:`close` releases
    every waiter for good (the server is stopping)."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        # Set (and replaced) on each bump of the account: waiters of the old version wake.
        self._events: dict[str, asyncio.Event] = {}
        self._closed = asyncio.Event()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (no request is held any more)."""
        return self._closed.is_set()

    def version(self, account_id: str) -> int:
        """The account's counter now."""
        return self._versions.get(account_id, 0)

    def bump(self, account_id: str) -> None:
        """Something the account's lists show may have changed: wake its waiters."""
        self._versions[account_id] = self.version(account_id) + 1
        event = self._events.pop(account_id, None)
        if event is not None:
            event.set()

    def close(self) -> None:
        """Release every waiter now and from now on (the server is shutting down)."""
        self._closed.set()

    async def wait_past(self, account_id: str, version: int, within: float) -> bool:
        """Wait until the account's counter is past ``version`` (True), or ``within``
        seconds pass or the signal is closed (False)."""
        if self.version(account_id) != version:
            return True
        if self.closed or within <= 0:
            return False
        event = self._events.setdefault(account_id, asyncio.Event())
        changed = asyncio.ensure_future(event.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({changed, closed}, timeout=within,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            for waiter in (changed, closed):
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        return self.version(account_id) != version


def unwatched(account_id: str) -> None:
    """The change hook of a service nobody long-polls (tests build them alone)."""
