"""Which OSC 8 hyperlinks a program in a sandbox may put on its text.

A link is drawn as the host terminal's own hyperlink (which it opens on a ctrl+click) and
opened by a click in the terminal view: a sandbox's program chooses both the target and the
text shown over it. Only web links are kept: ``file:``, ``javascript:``, ``data:`` and the
schemes that start programs (``vscode:``, ``ssh:``, ``smb:``, …) are dropped, and so is any
link holding a space or a control character, which would end up inside the escape sequence
the host terminal is sent.
"""

from __future__ import annotations

import re

__all__ = ["web_link"]

# Printable ASCII without space (others are percent-encoded by well-behaved programs).
_PRINTABLE = re.compile(r"[!-~]+")
_WEB = re.compile(r"https?://[^/?#]+", re.IGNORECASE)


def web_link(uri: str) -> str:
    """``uri`` when it is a web link a click may open, else ``""`` (no link)."""
    return uri if _PRINTABLE.fullmatch(uri) and _WEB.match(uri) else ""
