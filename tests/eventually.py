"""The one way a test waits: poll a predicate until it holds, or fail saying what never did.

Importable from every test folder as ``from eventually import eventually`` (pytest puts
``tests/``, the directory of the root conftest.py, on ``sys.path``).

A fixed sleep before an assert is a guess about how fast the machine is, and a guess that
fails on a loaded one; a predicate polled until a generous deadline passes as soon as the
thing has happened and only fails when it never does. The deadline is a bound against
hanging, not a measurement: timings belong in ``benchmarks/``.

A predicate "holds" when it returns something truthy (which is returned, so a probe can
hand back what it found) and does not raise :class:`AssertionError` (so a block of asserts
can be polled as a whole; the last failure is re-raised when time runs out).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

#: Long enough for a cage to start on a 2-core machine under a CPU hog, so a deadline only
#: ever fires for something that will not happen.
TIMEOUT = 60.0
#: How often the predicate is polled.
INTERVAL = 0.05


class _Deadline:
    """When a poll gives up, and the failure it gives up with."""

    def __init__(self, predicate: object, timeout: float, what: str) -> None:
        self.subject = what or getattr(predicate, "__qualname__", repr(predicate))
        self.timeout = timeout
        self.at = time.monotonic() + timeout

    def holds(self, value: object) -> bool:
        """Whether ``value`` holds; raises once it does not and time is up."""
        if value:
            return True
        if time.monotonic() >= self.at:
            raise AssertionError(
                f"{self.subject} did not hold within {self.timeout:g} s (last: {value!r})"
            )
        return False

    def failed(self) -> None:
        """Called while handling the predicate's AssertionError: re-raise it once time is up."""
        if time.monotonic() >= self.at:
            raise


def eventually(
    predicate: Callable[[], T | None],
    timeout: float = TIMEOUT,
    *,
    what: str = "",
    interval: float = INTERVAL,
) -> T:
    """Call ``predicate`` until it holds; return its (truthy) value.

    Raises :class:`AssertionError` naming ``what`` (or the predicate) after ``timeout``
    seconds, or re-raises the predicate's own last ``AssertionError``.
    """
    deadline = _Deadline(predicate, timeout, what)
    while True:
        try:
            value = predicate()
        except AssertionError:
            deadline.failed()
        else:
            if deadline.holds(value):
                return value  # type: ignore[return-value]  # holds() refused None
        time.sleep(interval)


async def eventually_async(
    predicate: Callable[[], T | Awaitable[T | None] | None],
    timeout: float = TIMEOUT,  # noqa: ASYNC109 - the sync twin's signature; polled, not a scope
    *,
    what: str = "",
    interval: float = INTERVAL,
    pause: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> T:
    """:func:`eventually` for the event loop: ``predicate`` may be sync or async.

    ``pause`` waits between polls; Pilot tests pass ``pilot.pause`` so the app processes
    its messages and repaints in between.
    """
    deadline = _Deadline(predicate, timeout, what)
    while True:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
        except AssertionError:
            deadline.failed()
        else:
            if deadline.holds(value):
                return value  # type: ignore[return-value]  # awaited above, never None
        await pause(interval)
