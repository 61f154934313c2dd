"""A terminal widget rendering a remote PTY through pyte.

Public API: :class:`TerminalView` (the widget), :class:`TerminalTransport` (what it reads from and
writes to), :class:`TerminalScreen` (the terminal model) and :func:`encode_key`.
"""

from .keys import encode_key
from .screen import TerminalScreen
from .transport import TerminalTransport
from .widget import TerminalView

__all__ = ["TerminalScreen", "TerminalTransport", "TerminalView", "encode_key"]
