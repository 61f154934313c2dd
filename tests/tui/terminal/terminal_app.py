"""A minimal app hosting one TerminalView, for the Pilot and snapshot tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import events, on
from textual.app import App, ComposeResult

from caged_tui.host_keys import hand_key_to_terminal, takes_every_key
from caged_tui.widgets.terminal import TerminalTransport, TerminalView

TransportFactory = Callable[[], Awaitable[TerminalTransport]]


class TerminalTestApp(App[None]):
    """Shows a TerminalView filling the screen; reconnects through ``factory``."""

    def __init__(self, factory: TransportFactory | None = None, **view_options: Any) -> None:
        super().__init__()
        self.factory = factory
        self.view_options = view_options
        self.transports: list[TerminalTransport] = []
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield TerminalView(id="terminal", **self.view_options)

    async def _check_bindings(self, key: str, priority: bool = False) -> bool:
        # As CagedApp: a terminal with the focus takes every key, ctrl+q and ctrl+p included.
        if priority and takes_every_key(self.focused):
            return False
        return await super()._check_bindings(key, priority)

    async def on_event(self, event: events.Event) -> None:
        # As CagedApp: a key goes straight to a terminal that takes it.
        if not hand_key_to_terminal(self, event):
            await super().on_event(event)

    @property
    def view(self) -> TerminalView:
        return self.query_one(TerminalView)

    async def on_mount(self) -> None:
        self.view.focus()
        if self.factory is not None:
            await self.connect()

    async def connect(self) -> None:
        assert self.factory is not None
        transport = await self.factory()
        self.transports.append(transport)
        self.view.attach(transport)

    @on(TerminalView.Disconnected)
    @on(TerminalView.FocusReleased)
    @on(TerminalView.TitleChanged)
    def record(self, message: object) -> None:
        self.messages.append(message)

    @on(TerminalView.ReconnectRequested)
    async def reconnect(self, message: TerminalView.ReconnectRequested) -> None:
        self.messages.append(message)
        await self.connect()

    async def on_unmount(self) -> None:
        for transport in self.transports:
            await transport.close()
