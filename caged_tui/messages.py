"""Messages that cross screens: what workers learned, named in the past tense.

Screen-local messages live next to their screen; these ones are also read by
the app (they bubble from a screen to it), which keeps the header current
without polling the same data twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from caged_core.models import Sandbox


@dataclass
class SandboxesLoaded(Message):
    """A fresh list of every sandbox arrived."""

    sandboxes: list[Sandbox]


@dataclass
class PlatformUnreachable(Message):
    """A request failed because the platform could not be reached."""

    reason: str


@dataclass
class SandboxChanged(Message):
    """One sandbox changed because of something this app did (create, pause, …)."""

    sandbox_id: str
    what: str
