"""What screens may ask of the app: a small protocol instead of the app module.

Screens, the palette and dialogs type against :class:`CagedHost`, so none of
them imports ``caged_tui.app`` (which imports the registry, which names the
screens): there is no import cycle, and a test may host a screen in any app
that provides these members.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Protocol, cast, runtime_checkable

from textual.dom import DOMNode

if TYPE_CHECKING:
    from textual.binding import BindingType
    from textual.worker import Worker

    from caged_core.client import AsyncCaged
    from caged_tui.connect import Connector, Session
    from caged_tui.live import LiveFeed
    from caged_tui.settings import Settings
    from caged_tui.status import PlatformStatus


class HostAccess:
    """The app as a :class:`CagedHost`, for DOM nodes (screens and their parts)."""

    @property
    def caged(self) -> CagedHost:
        """The app, as the small protocol screens may rely on."""
        assert isinstance(self, DOMNode)
        return cast("CagedHost", self.app)

    @property
    def client(self) -> AsyncCaged:
        """The app's current client (it changes when the profile does)."""
        return self.caged.client

    @property
    def now(self) -> Callable[[], datetime]:
        """The app's clock (frozen in snapshot tests)."""
        return self.caged.now


@runtime_checkable
class Revealable(Protocol):
    """A part of a screen that can bring itself into view (a panel selects its tab)."""

    def reveal(self) -> None:
        """Show this part and give it the focus."""


class TitledPart(Protocol):
    """A widget class whose bindings the palette offers under a title."""

    TITLE: ClassVar[str]
    BINDINGS: ClassVar[list[BindingType]]


class ClientFactory(Protocol):
    """Builds a client from an API key and a base URL (``AsyncCaged`` itself is one)."""

    def __call__(self, *, api_key: str, base_url: str) -> AsyncCaged: ...


class CagedHost(Protocol):
    """The members of :class:`~caged_tui.app.CagedApp` that screens use."""

    client: AsyncCaged
    now: Callable[[], datetime]
    live: LiveFeed
    client_factory: ClientFactory
    connector: Connector | None

    @property
    def settings(self) -> Settings:
        """Profile, theme, keymap and refresh rate."""
        ...

    @property
    def status(self) -> PlatformStatus:
        """What the header shows about the platform."""
        ...

    @property
    def in_foreground(self) -> bool:
        """Whether live views should update (the terminal has the focus)."""
        ...

    def go(self, name: str) -> None:
        """Open the screen called ``name`` (``:`` and digits)."""

    def open_terminal(self, sandbox_id: str) -> object:
        """Open a terminal tab into ``sandbox_id``."""

    def switch_profile(self, profile: str) -> None:
        """Rebuild the client for another profile."""

    def use_session(self, session: Session, note: str) -> None:
        """Replace the client and settings."""

    def report_worker_failure(self, worker: Worker[object]) -> None:
        """The central handler for failed workers."""
