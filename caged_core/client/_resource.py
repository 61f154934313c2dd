"""The base of every resource class hung off the client."""

from __future__ import annotations

from caged_core.client._transport import APICore

__all__ = ["Resource"]


class Resource:
    """A group of related API calls sharing the client's :class:`APICore`."""

    def __init__(self, core: APICore) -> None:
        self._core = core

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._core.base_url}>"
