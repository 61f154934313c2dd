"""The app header: profile, connection, notifications, alerts and isolation."""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Offset
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from caged_tui.formatting import DASH
from caged_tui.status import Connection, PlatformStatus


def _count(value: int | None) -> str:
    return DASH if value is None else str(value)


class CagedHeader(Widget):
    """One line at the top of every screen, bound to the app's ``status``.

    One widget painting one line of segments (the Line API), not a row of badge
    widgets: the header is mounted with every screen, and its eight child widgets
    (each styled, laid out, and laid out again as the screen set the header's state
    on mount) were a large share of opening a screen. Each badge's text takes the
    style of a component class the theme colours (``caged-header--failed``…), never
    an inline colour; a click or the pointer maps its column back to the badge.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "caged-header--title",
        "caged-header--screen",
        "caged-header--profile",
        "caged-header--online",
        "caged-header--connecting",
        "caged-header--failed",
        "caged-header--unread",
        "caged-header--alerts",
        "caged-header--unisolated",
        "caged-header--hover",
    }

    DEFAULT_CSS = """
    CagedHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    CagedHeader > .caged-header--title { text-style: bold; color: $accent; }
    CagedHeader > .caged-header--screen { color: $text-muted; }
    CagedHeader > .caged-header--profile { text-style: bold; }
    CagedHeader > .caged-header--online { color: $success; }
    CagedHeader > .caged-header--connecting { color: $warning; }
    CagedHeader > .caged-header--failed { color: $error; text-style: bold; }
    CagedHeader > .caged-header--unread { color: $warning; text-style: bold; }
    CagedHeader > .caged-header--alerts { color: $error; text-style: bold; }
    CagedHeader > .caged-header--unisolated { color: $error; text-style: bold; }
    CagedHeader > .caged-header--hover { text-style: reverse; }
    """

    #: The component class of the connection badge in each state.
    CONNECTION_STYLES: ClassVar[dict[Connection, str]] = {
        Connection.CONNECTING: "caged-header--connecting",
        Connection.ONLINE: "caged-header--online",
        Connection.OFFLINE: "caged-header--failed",
        Connection.UNAUTHORIZED: "caged-header--failed",
    }

    #: What a click on a badge opens (the ``:`` name of the screen).
    SHORTCUTS: ClassVar[dict[str, str]] = {"alerts": "alerts", "unread": "notifications"}

    status: reactive[PlatformStatus] = reactive(PlatformStatus)
    profile_label: reactive[str] = reactive("")
    local: reactive[bool] = reactive(True)
    screen_title: reactive[str] = reactive("")

    def __init__(self) -> None:
        super().__init__()
        #: (start, end, name) of each badge in the last render, for clicks and hover.
        self._spans: list[tuple[int, int, str]] = []
        #: The text of each badge in the last render.
        self._painted: dict[str, str] = {}
        self._hover: str | None = None

    def badges(self) -> list[tuple[str, str, str | None]]:
        """(name, text, component class or None) of the badges right of the title."""
        status = self.status
        connection = status.connection.value
        if status.connection is Connection.OFFLINE:
            connection = "offline · retrying"
        shown: list[tuple[str, str, str | None]] = [
            ("profile", self.profile_label, "caged-header--profile"),
            ("connection", f"● {connection}", self.CONNECTION_STYLES[status.connection]),
        ]
        # Known only from the sandboxes in use: with none, there is nothing to say.
        if self.local and status.isolation:
            isolation = "isolation: " + "/".join(status.isolation)
            unisolated = "caged-header--unisolated" if status.unisolated else None
            shown.append(("isolation", isolation, unisolated))
        unread = "caged-header--unread" if status.unread else None
        shown.append(("unread", f"🔔 {_count(status.unread)}", unread))
        alerts = "caged-header--alerts" if status.open_alerts else None
        shown.append(("alerts", f"⚠ {_count(status.open_alerts)}", alerts))
        return shown

    def badge(self, name: str) -> str:
        """The text the header paints for the badge ``name`` (``alerts``, ``unread``…)."""
        self._line()
        return self._painted[name]

    def badge_offset(self, name: str) -> Offset:
        """Where the badge ``name`` is, relative to the header (for a click)."""
        self._line()
        start = next(start for start, _, badge in self._spans if badge == name)
        return Offset(start + 1, 0)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y:
            return Strip.blank(width, self.rich_style)
        return Strip(self._line()).crop_extend(0, width, Style(bgcolor=self.rich_style.bgcolor))

    def _line(self) -> list[Segment]:
        """The header's segments; each part padded by a space either side, as a widget's
        padding would be (spaces in the background only), its text in its badge's style."""
        base = self.rich_style
        pad = Style(bgcolor=base.bgcolor)

        def style(component: str | None) -> Style:
            return base if component is None else self.get_component_rich_style(component)

        badges = self.badges()
        title = "caged"
        rest = self.size.width - cell_len(title) - 2
        rest -= sum(cell_len(text) + 2 for _, text, _ in badges)
        screen = Text(self.screen_title)
        screen.truncate(max(0, rest - 2), overflow="crop")
        segments = [
            Segment(" ", pad),
            Segment(title, style("caged-header--title")),
            Segment(" ", pad),
            Segment(" ", pad),
            Segment(screen.plain, style("caged-header--screen")),
            Segment(" " * max(0, rest - 2 - screen.cell_len), pad),
            Segment(" ", pad),
        ]
        self._spans = []
        self._painted = {}
        start = cell_len(title) + 2 + max(rest, 2 + screen.cell_len)
        for name, text, component in badges:
            badge_style = style(component)
            if name == self._hover and name in self.SHORTCUTS:
                badge_style += style("caged-header--hover")
            segments += [Segment(" ", pad), Segment(text, badge_style), Segment(" ", pad)]
            end = start + cell_len(text) + 2
            self._spans.append((start, end, name))
            self._painted[name] = text
            start = end
        return segments

    def _badge_at(self, x: int) -> str | None:
        return next((name for start, end, name in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """The shortcut badges show reversed under the pointer."""
        self._set_hover(self._badge_at(event.x))

    def on_leave(self) -> None:
        self._set_hover(None)

    def _set_hover(self, name: str | None) -> None:
        if name != self._hover:
            self._hover = name
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        """The alert count and the bell are shortcuts to their screens."""
        target = self.SHORTCUTS.get(self._badge_at(event.x) or "")
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
