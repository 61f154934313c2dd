"""Messages that cross screens: what workers learned, named in the past tense.

Screen-local messages live next to their screen; these ones are also read by
the app (they bubble from a screen to it). Live data does not travel as
messages: it comes from the live feed (:mod:`caged_tui.live`).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class PlatformUnreachable(Message):
    """A request failed because the platform could not be reached."""

    reason: str


@dataclass
class SandboxChanged(Message):
    """One sandbox changed because of something this app did (create, pause, …)."""

    sandbox_id: str
    what: str
