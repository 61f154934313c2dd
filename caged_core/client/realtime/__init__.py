"""Sockets to a sandbox: the terminal, streaming exec (marker protocol) and MCP."""

from caged_core.client.realtime.exec_stream import ExecStream, MarkerParser
from caged_core.client.realtime.mcp import MCPClient, MCPNotification, MCPTool
from caged_core.client.realtime.terminal import OutputCallback, TerminalSession

__all__ = [
    "ExecStream",
    "MCPClient",
    "MCPNotification",
    "MCPTool",
    "MarkerParser",
    "OutputCallback",
    "TerminalSession",
]
