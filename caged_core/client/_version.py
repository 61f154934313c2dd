"""The distribution's version, read once from the installed metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("caged-tui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

#: What every HTTP request and WebSocket handshake identifies itself as.
USER_AGENT = f"caged-tui/{__version__}"
