"""The distribution's version and the User-Agent built from it.

A literal, not read from the installed metadata: importing ``importlib.metadata``
(and the e-mail parser it uses) cost ~10 ms on the way to the TUI's first frame.
``tests/unit/test_first_run.py`` keeps it equal to ``pyproject.toml``'s.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: What every HTTP request and WebSocket handshake identifies itself as.
USER_AGENT = f"caged-tui/{__version__}"
