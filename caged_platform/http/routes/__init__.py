"""The REST route table of the local platform: every operation of the contract."""

from __future__ import annotations

from caged_platform.http.routes import account, content, observability, sandboxes
from caged_platform.http.routes.base import Operation

__all__ = ["OPERATIONS", "WEBSOCKET_PATHS"]

OPERATIONS: tuple[Operation, ...] = (
    *sandboxes.OPERATIONS,
    *content.OPERATIONS,
    *account.OPERATIONS,
    *observability.OPERATIONS,
)

#: WebSocket endpoints (relative to ``/v1``), served by terminal_ws and mcp_ws.
WEBSOCKET_PATHS: tuple[str, ...] = ("/sandboxes/{id}/terminal", "/sandboxes/{id}/mcp")
