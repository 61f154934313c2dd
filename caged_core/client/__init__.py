"""The Caged API client: :class:`AsyncCaged` (primary) and the blocking :class:`Caged`."""

from typing import TYPE_CHECKING

# First, before anything imports httpx.
from caged_core.client import _no_httpx_cli  # noqa: F401
from caged_core.client._client import AsyncCaged
from caged_core.client._pages import AsyncPage, AsyncPaginator
from caged_core.client._retry import RetryPolicy
from caged_core.client._sync import Caged, Page
from caged_core.client._version import __version__

if TYPE_CHECKING:
    from caged_core.client.realtime import (
        ExecStream,
        MCPClient,
        MCPNotification,
        MCPTool,
        TerminalSession,
    )

__all__ = [
    "AsyncCaged",
    "AsyncPage",
    "AsyncPaginator",
    "Caged",
    "ExecStream",
    "MCPClient",
    "MCPNotification",
    "MCPTool",
    "Page",
    "RetryPolicy",
    "TerminalSession",
    "__version__",
]

#: The socket clients, loaded with websockets on first use: the TUI's first frame needs none.
_REALTIME = frozenset({"ExecStream", "MCPClient", "MCPNotification", "MCPTool", "TerminalSession"})


def __getattr__(name: str) -> object:
    if name in _REALTIME:
        from caged_core.client import realtime

        return getattr(realtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
