"""The ports panel: listening ports and their preview URLs (open, copy)."""

from __future__ import annotations

import webbrowser
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static

from caged_core.models import Port
from caged_tui import formatting as fmt
from caged_tui.screens.detail.panel import DetailPanel
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

COLUMNS = (
    Column("port", "PORT", 6),
    Column("protocol", "PROTOCOL", 9),
    Column("url", "PREVIEW URL", 40),
    Column("protected", "PROTECTED", 9),
    Column("detected", "DETECTED", 8),
)


def port_cells(port: Port, now: datetime) -> tuple[Cell, ...]:
    """A port's row."""
    return (
        (str(port.port), ""),
        (port.protocol, ""),
        (port.preview_url or fmt.DASH, ""),
        ("yes" if port.protected else "no", ""),
        (fmt.since(port.detected_at, now), ""),
    )


class PortsPanel(DetailPanel):
    """The sandbox's listening ports; polled (through the live feed) only while in front."""

    PANEL_ID = "ports"
    TITLE = "Ports"
    FOCUS = "#ports-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_port", "Open in browser", id="detail.ports.open"),
        Binding("y", "copy_url", "Copy URL", id="detail.ports.copy"),
    ]

    @dataclass
    class Loaded(Message):
        """The sandbox's listening ports."""

        ports: Sequence[Port]

    _source: ListSource[Port]

    def compose(self) -> ComposeResult:
        self._source = ListSource(lambda port: str(port.port), port_cells, self.caged.now())
        yield VirtualTable(COLUMNS, self._source, id="ports-table")
        yield Static("No listening ports.", id="ports-empty")

    def on_mount(self) -> None:
        self.follow("ports", lambda client: client.sandboxes.ports(self.sandbox_id), self.Loaded)

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        # A handful of rows, repainted whole; the cursor stays on its port.
        self._source.retime(self.caged.now(), ())
        self._source.update(event.ports)
        self.query_one(VirtualTable).source_changed()
        self.set_class(not event.ports, "-empty")

    def selected(self) -> Port | None:
        """The port under the cursor."""
        key = self.query_one(VirtualTable).cursor_key
        return self._source.get(key) if key is not None else None

    def action_open_port(self) -> None:
        """Open the selected port's preview URL in the browser."""
        port = self.selected()
        if port is None or not port.preview_url:
            self.notify("No preview URL selected.", severity="warning")
            return
        self.open_url(port.preview_url)

    @work(thread=True, group="detail.browser", exit_on_error=False, description="Opening a browser")
    def open_url(self, url: str) -> None:
        """``webbrowser`` may block (it can start a browser), hence a thread."""
        if not webbrowser.open(url):
            self.app.call_from_thread(
                self.notify, f"No browser available. URL: {url}", severity="warning"
            )

    def action_copy_url(self) -> None:
        """Copy the selected port's preview URL (OSC 52)."""
        port = self.selected()
        if port is None or not port.preview_url:
            self.notify("No preview URL selected.", severity="warning")
            return
        self.app.copy_to_clipboard(port.preview_url)
        self.notify(f"Copied {port.preview_url}")
