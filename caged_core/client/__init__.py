"""The Caged API client: :class:`AsyncCaged` (primary) and the blocking :class:`Caged`."""

from caged_core.client._client import AsyncCaged
from caged_core.client._pages import AsyncPage, AsyncPaginator
from caged_core.client._retry import RetryPolicy
from caged_core.client._sync import Caged, Page
from caged_core.client._version import __version__
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
