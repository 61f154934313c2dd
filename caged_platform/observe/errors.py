"""Errors the observability package raises to its caller (the server).

::

    ObserveError        anything raised on purpose by ``caged_platform.observe``
    ├── NotFound        no such session / alert / rule / notification for this account → 404
    └── Invalid         a request the package refuses (bad parameter, wrong type) → 400

Both carry a one-sentence message fit for a problem+json ``detail``. Per-event
ingest failures are *not* raised: they are counted in ``IngestResult.errors``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Invalid", "NotFound", "ObserveError", "int_param"]


class ObserveError(Exception):
    """Base class of the errors the observe package raises on purpose."""

    #: The HTTP status the server should answer with.
    status: int = 500

    @property
    def detail(self) -> str:
        """The one-sentence message, for a problem+json ``detail``."""
        return str(self)


class NotFound(ObserveError):
    """The thing asked for does not exist, or belongs to another account."""

    status = 404


class Invalid(ObserveError):
    """The request is malformed or out of range; the message says which field and why."""

    status = 400


def int_param(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` if it is an integer from ``low`` to ``high``; else :class:`Invalid` naming
    ``name`` (the services check their paging parameters for every caller, not only HTTP)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise Invalid(f"{name} must be {bound}")
    return value
