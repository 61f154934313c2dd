"""What every panel of the sandbox detail screen shares.

A panel is a :class:`~textual.widgets.TabPane` that owns everything about one
aspect of a sandbox: its live-feed subscription, its messages, its keys and
how it renders. The screen only stacks the panels as tabs and keeps what is
about the sandbox as a whole (title, pause/resume, destroy, terminal).

Panel keys are bindings of the panel, so they act — and show in the footer,
the help and the palette — only while the panel has the focus; the screen
focuses a panel's :attr:`DetailPanel.FOCUS` when its tab is chosen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.widgets import TabbedContent, TabPane

from caged_core.errors import CagedNotFoundError
from caged_tui.live import SANDBOXES, Fetched, LiveFeed, TopicSpec
from caged_tui.protocol import HostAccess

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.message import Message

    from caged_core.client import AsyncCaged
    from caged_core.models import Sandbox

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Gone:
    """What the sandbox topic holds once the sandbox no longer exists."""

    sandbox_id: str


def sandbox_topic(sandbox_id: str) -> TopicSpec[Sandbox | Gone]:
    """The live topic of one sandbox (shared by the screen and the overview)."""

    async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[Sandbox | Gone]:
        try:
            return Fetched(await client.sandboxes.get(sandbox_id))
        except CagedNotFoundError:
            return Fetched(Gone(sandbox_id))

    return TopicSpec(f"sandbox:{sandbox_id}", fetch)


def subscribe_to_sandbox(
    live: LiveFeed, node: DOMNode, sandbox_id: str, callback: Callable[[Sandbox | Gone], object]
) -> None:
    """Follow the sandbox on ``node``; before its own first fetch, ``callback`` gets the
    copy the sandboxes list already holds, so a sandbox opened from the list shows at once
    rather than after a round trip (seen: 2 s of an empty overview on a loaded machine)."""
    spec = sandbox_topic(sandbox_id)
    if live.current(spec.name) is None:
        listed: list[Sandbox] = live.current(SANDBOXES.name) or []
        for sandbox in listed:
            if sandbox.id == sandbox_id:
                callback(sandbox)
                break
    live.subscribe(node, spec, callback)


class DetailPanel(HostAccess, TabPane):
    """Base of the detail screen's panels.

    Subclasses set :attr:`PANEL_ID` (the tab id, also the ``tab=`` argument of
    the screen), :attr:`TITLE` (the tab label) and :attr:`FOCUS` (a selector
    of the child that takes the focus when the tab is chosen).
    """

    PANEL_ID: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    FOCUS: ClassVar[str] = ""

    def __init__(self, sandbox_id: str) -> None:
        super().__init__(self.TITLE, id=self.PANEL_ID)
        self.sandbox_id = sandbox_id

    @property
    def in_front(self) -> bool:
        """Whether this panel's tab is shown on the screen in front (hidden tabs
        answer "unchanged" to the live feed without a request)."""
        return self.is_attached and self.screen.is_current and self.display

    def follow(
        self,
        topic: str,
        get: Callable[[AsyncCaged], Awaitable[T]],
        loaded: Callable[[T], Message],
        *,
        when: Callable[[], bool] = lambda: True,
    ) -> None:
        """Subscribe to this sandbox's live ``topic``: fetched with ``get`` while the
        panel is in front and ``when()`` holds, each new value posted as ``loaded(value)``."""

        async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[T]:
            if not (self.in_front and when()):
                return Fetched(None)
            return Fetched(await get(client))

        spec = TopicSpec(f"{topic}:{self.sandbox_id}", fetch)
        self.caged.live.subscribe(self, spec, lambda value: self.post_message(loaded(value)))

    def focus_panel(self) -> None:
        """Give the focus to the panel's main widget."""
        if self.FOCUS:
            self.query_one(self.FOCUS).focus()

    def reveal(self) -> None:
        """Bring this panel's tab to the front and focus it (its keys work at once)."""
        self.query_ancestor(TabbedContent).active = self.PANEL_ID
        # Focus once shown: a hidden widget cannot take the focus.
        self.call_after_refresh(self.focus_panel)
