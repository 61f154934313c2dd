"""The app header: profile, connection, notifications, alerts and isolation."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from caged_tui.formatting import DASH
from caged_tui.status import Connection, PlatformStatus


def _count(value: int | None) -> str:
    return DASH if value is None else str(value)


class CagedHeader(Widget):
    """One line at the top of every screen, bound to the app's ``status``.

    Appearance follows state: the connection and alert levels are CSS classes
    (``-offline``, ``-alerts``…) styled by the theme, never inline colours.
    """

    DEFAULT_CSS = """
    CagedHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    CagedHeader Horizontal { height: 1; }
    CagedHeader Static { width: auto; padding: 0 1; }
    CagedHeader #header-title { text-style: bold; color: $accent; }
    CagedHeader #header-screen { width: 1fr; color: $text-muted; }
    CagedHeader #header-profile { text-style: bold; }
    CagedHeader #header-connection { color: $success; }
    CagedHeader.-connecting #header-connection { color: $warning; }
    CagedHeader.-offline #header-connection { color: $error; text-style: bold; }
    CagedHeader.-unauthorized #header-connection { color: $error; text-style: bold; }
    CagedHeader #header-unread:hover, CagedHeader #header-alerts:hover { text-style: reverse; }
    CagedHeader.-unread #header-unread { color: $warning; text-style: bold; }
    CagedHeader.-alerts #header-alerts { color: $error; text-style: bold; }
    CagedHeader.-unisolated #header-isolation { color: $error; text-style: bold; }
    """

    CONNECTION_CLASSES: ClassVar[dict[Connection, str]] = {
        Connection.CONNECTING: "-connecting",
        Connection.ONLINE: "-online",
        Connection.OFFLINE: "-offline",
        Connection.UNAUTHORIZED: "-unauthorized",
    }

    status: reactive[PlatformStatus] = reactive(PlatformStatus, init=False)
    profile_label: reactive[str] = reactive("", init=False)
    local: reactive[bool] = reactive(True, init=False)
    screen_title: reactive[str] = reactive("", init=False)

    def __init__(self) -> None:
        super().__init__()
        # Built here, not looked up: the screen sets the reactives from its own
        # on_mount, which may run before this widget's children are mounted.
        self._screen_title = Static(id="header-screen")
        self._profile = Static(id="header-profile")
        self._connection = Static(id="header-connection")
        self._isolation = Static(id="header-isolation")
        self._unread = Static(id="header-unread")
        self._alerts = Static(id="header-alerts")
        #: The text each badge shows: a Static's update lays the screen out again, and
        #: every screen sets four reactives as it mounts (each renders the header).
        self._shown: dict[Static, str] = {}

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("caged", id="header-title")
            yield self._screen_title
            yield self._profile
            yield self._connection
            yield self._isolation
            yield self._unread
            yield self._alerts

    def on_mount(self) -> None:
        self._render_all()

    def watch_status(self) -> None:
        self._render_all()

    def watch_profile_label(self) -> None:
        self._render_all()

    def watch_screen_title(self) -> None:
        self._render_all()

    def watch_local(self) -> None:
        self._render_all()

    def _render_all(self) -> None:
        status = self.status
        self._show(self._screen_title, self.screen_title)
        self._show(self._profile, self.profile_label)
        connection = status.connection.value
        if status.connection is Connection.OFFLINE:
            connection = "offline · retrying"
        self._show(self._connection, f"● {connection}")
        self._isolation.display = self.local
        self._show(self._isolation, "isolation: " + ("/".join(status.isolation) or DASH))
        self._show(self._unread, f"🔔 {_count(status.unread)}")
        self._show(self._alerts, f"⚠ {_count(status.open_alerts)}")
        for state, css_class in self.CONNECTION_CLASSES.items():
            self.set_class(status.connection is state, css_class)
        self.set_class(bool(status.unread), "-unread")
        self.set_class(bool(status.open_alerts), "-alerts")
        self.set_class(bool(status.unisolated), "-unisolated")

    def _show(self, badge: Static, text: str) -> None:
        if self._shown.get(badge) != text:
            self._shown[badge] = text
            badge.update(text)

    #: What a click on a badge opens (the ``:`` name of the screen).
    SHORTCUTS: ClassVar[dict[str, str]] = {
        "header-alerts": "alerts",
        "header-unread": "notifications",
    }

    def on_click(self, event: events.Click) -> None:
        """The alert count and the bell are shortcuts to their screens."""
        target = self.SHORTCUTS.get(getattr(event.widget, "id", None) or "")
        if target is not None:
            event.stop()
            self.app.call_later(self.app.run_action, f"go({target!r})")


class IsolationBanner(Static):
    """A warning line shown while any sandbox runs without isolation."""

    DEFAULT_CSS = """
    IsolationBanner {
        height: auto;
        display: none;
        background: $error 30%;
        color: $text;
        padding: 0 1;
        text-style: bold;
    }
    IsolationBanner.-visible { display: block; }
    """

    unisolated: reactive[tuple[str, ...]] = reactive((), init=False)

    def watch_unisolated(self, unisolated: tuple[str, ...]) -> None:
        self.set_class(bool(unisolated), "-visible")
        if unisolated:
            names = ", ".join(unisolated[:4]) + (" …" if len(unisolated) > 4 else "")
            self.update(
                f"⚠ NOT ISOLATED: {names} run without bubblewrap — processes can see and "
                "change your files. Install bubblewrap (bwrap) to isolate sandboxes."
            )
