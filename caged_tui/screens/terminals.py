"""Terminals into sandboxes, one tab each (several per sandbox are fine).

Keys typed while a terminal has the focus go to the shell, ``ctrl+p`` and
``ctrl+q`` included; the prefix key ``ctrl+]`` makes the next key this screen's
or the app's (``ctrl+] w`` closes the tab, ``ctrl+] q`` quits), ``ctrl+] ]``
leaves the terminal, and then this screen's keys work without the prefix. When a
socket ends the tab says why (:func:`~caged_tui.ending.why_ended`): a paused
sandbox offers ``p`` (resume, then reconnect), a destroyed one closes its tabs
with a notice, anything else keeps the tab with ``r`` to reconnect. A program
setting the clipboard (OSC 52) is asked about once per sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane

from caged_tui.ending import Ending, EndKind, why_ended
from caged_tui.screens.base import CagedScreen
from caged_tui.terminal_adapter import SessionTransport
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.terminal import TerminalView


@dataclass
class TerminalConnected(Message):
    """A terminal socket opened for the tab ``pane_id``."""

    pane_id: str
    transport: SessionTransport


@dataclass
class TerminalEnded(Message):
    """Why the socket of the tab ``pane_id`` ended."""

    pane_id: str
    ending: Ending


@dataclass
class SandboxResumed(Message):
    """The sandbox of paused terminals runs again: reconnect them."""

    sandbox_id: str


@dataclass
class TerminalFailed(Message):
    """Opening a terminal socket failed."""

    pane_id: str
    reason: str


class TerminalTab(TabPane):
    """A tab holding one terminal and remembering which sandbox it is on."""

    def __init__(self, sandbox_id: str, number: int) -> None:
        # Kept, not queried: while the tab is being removed its children are
        # gone, and a Disconnected message still in flight must find the view
        # (a query raised NoMatches and crashed the app).
        self.view = TerminalView()
        super().__init__(f"{number}: {sandbox_id}", self.view, id=f"term-{number}")
        self.sandbox_id = sandbox_id
        self.number = number
        self.transport: SessionTransport | None = None
        #: Why the last socket ended (None while connected or never explained).
        self.ending: Ending | None = None


class TerminalsScreen(CagedScreen[None]):
    """Terminals as tabs, across sandboxes."""

    SCREEN_TITLE = "Terminals"
    CSS_PATH = "terminals.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        # Back to whatever the sandboxes mode shows (the list, or a sandbox's detail).
        Binding("escape", "back", "Back", id="terminals.back"),
        Binding("enter,i", "focus_terminal", "Focus terminal", id="terminals.focus"),
        Binding(
            "left_square_bracket",
            "switch(-1)",
            "Previous tab",
            key_display="[",
            id="terminals.previous",
        ),
        Binding(
            "right_square_bracket", "switch(1)", "Next tab", key_display="]", id="terminals.next"
        ),
        Binding("n", "new", "Another terminal here", id="terminals.new"),
        Binding("w", "close", "Close tab", id="terminals.close"),
        Binding("p", "resume", "Resume sandbox", id="terminals.resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._numbers = count(1)
        #: OSC 52 answers by sandbox id, and the writes waiting for an answer.
        self._clipboard_allowed: dict[str, bool] = {}
        self._clipboard_asked: dict[str, str] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("No terminals open. Press t on a sandbox to open one.", id="terminals-empty")
        yield TabbedContent(id="terminals-tabs")

    def on_mount(self) -> None:
        super().on_mount()
        self._update_empty()

    @property
    def tab_count(self) -> int:
        """How many terminal tabs are open."""
        return len(self._tabs())

    @property
    def context_sandbox_id(self) -> str | None:
        """The sandbox of the terminal in front (``:files`` opens for it)."""
        tab = self._current()
        return tab.sandbox_id if tab is not None else None

    def _tabs(self) -> list[TerminalTab]:
        return list(self.query(TerminalTab))

    def _current(self) -> TerminalTab | None:
        try:
            active = self.query_one(TabbedContent).active_pane
        except NoMatches:
            # A tab being closed: its pane is gone while it is still the active one, and
            # the key bar asks about p (resume) then.
            return None
        return active if isinstance(active, TerminalTab) else None

    def _update_empty(self) -> None:
        self.set_class(not self._tabs(), "-empty")

    # ------------------------------------------------------------------ opening

    async def add_terminal(self, sandbox_id: str) -> None:
        """Open a new tab with a terminal into ``sandbox_id`` and focus it."""
        tab = TerminalTab(sandbox_id, next(self._numbers))
        tabs = self.query_one(TabbedContent)
        await tabs.add_pane(tab)
        tabs.active = tab.id or ""
        self._update_empty()
        tab.view.focus()
        # Connect once the view is laid out: the shell starts at the real size,
        # not at 80x24 to be re-flowed a moment later.
        self.call_after_refresh(self.connect, tab)

    def connect(self, tab: TerminalTab) -> None:
        """Open the socket for ``tab`` (first time or reconnect) at the view's size."""
        size = tab.view.size
        rows, cols = (size.height, size.width) if size.area else (24, 80)
        self._open_socket(tab.id or "", tab.sandbox_id, rows, cols)

    @work(group="terminals.connect", exit_on_error=False, description="Opening a terminal")
    async def _open_socket(self, pane_id: str, sandbox_id: str, rows: int, cols: int) -> None:
        try:
            session = await self.client.sandboxes.terminal(sandbox_id, rows=rows, cols=cols)
        except Exception as error:
            # Any failure leaves the tab open and reconnectable; the toast says why.
            self.post_message(TerminalFailed(pane_id, str(error)))
            raise
        self.post_message(TerminalConnected(pane_id, SessionTransport(session)))

    def _tab(self, pane_id: str) -> TerminalTab | None:
        matches = [tab for tab in self._tabs() if tab.id == pane_id]
        return matches[0] if matches else None

    @on(TerminalConnected)
    async def _connected(self, event: TerminalConnected) -> None:
        tab = self._tab(event.pane_id)
        if tab is None:  # the tab was closed while connecting
            await event.transport.close()
            return
        tab.transport = event.transport
        tab.ending = None
        tab.view.attach(event.transport)
        self._label(tab, connected=True)

    @on(TerminalFailed)
    def _failed(self, event: TerminalFailed) -> None:
        if tab := self._tab(event.pane_id):
            self._label(tab, connected=False)
            tab.view.feed(f"\r\nCould not open the terminal: {event.reason}\r\n".encode())
            tab.view.mark_ended()

    @on(TerminalView.Disconnected)
    def _disconnected(self, event: TerminalView.Disconnected) -> None:
        for tab in self._tabs():
            if tab.view is event.terminal:
                self._label(tab, connected=False)
                transport = tab.transport
                code, reason = (
                    (transport.close_code, transport.close_reason) if transport else (None, None)
                )
                self._explain(tab.id or "", tab.sandbox_id, code, reason)

    @work(group="terminals.explain", exit_on_error=False, description="Asking why it ended")
    async def _explain(
        self, pane_id: str, sandbox_id: str, code: int | None, reason: str | None
    ) -> None:
        ending = await why_ended(self.client, sandbox_id, code, reason)
        self.post_message(TerminalEnded(pane_id, ending))

    @on(TerminalEnded)
    async def _ended(self, event: TerminalEnded) -> None:
        tab = self._tab(event.pane_id)
        if tab is None:
            return
        ending = tab.ending = event.ending
        what = f"Terminal {tab.number} on {tab.sandbox_id}"
        if ending.kind is EndKind.GONE:
            # Nothing to reconnect to, ever: the tab goes, the notice stays.
            self.notify(f"{what} closed: {ending.reason}.", severity="warning")
            await self._close(tab)
            return
        if ending.kind is EndKind.PAUSED:
            tab.view.banner = f"{ending.reason} — p resumes it and reconnects"
            self.notify(f"{what}: {ending.reason} (p resumes).", severity="warning")
            # Off the terminal, where p would be swallowed as typing.
            self._focus_tabs()
        else:
            tab.view.banner = f"{ending.reason} — press r to reconnect"
            self.notify(f"{what} disconnected (r reconnects).", severity="warning")
        self.refresh_bindings()

    @on(TerminalView.ReconnectRequested)
    def _reconnect(self, event: TerminalView.ReconnectRequested) -> None:
        for tab in self._tabs():
            if tab.view is event.terminal:
                self.connect(tab)

    @on(TerminalView.ClipboardRequested)
    def _clipboard_requested(self, event: TerminalView.ClipboardRequested) -> None:
        """OSC 52 from a sandbox: asked once per sandbox (Cancel is the default), then the
        answer stands until the app quits."""
        tab = next((tab for tab in self._tabs() if tab.view is event.terminal), None)
        if tab is None:
            return
        sandbox_id = tab.sandbox_id
        allowed = self._clipboard_allowed.get(sandbox_id)
        if allowed is not None:
            if allowed:
                self.app.copy_to_clipboard(event.text)
            return
        asking = sandbox_id in self._clipboard_asked
        self._clipboard_asked[sandbox_id] = event.text  # The latest write wins.
        if asking:
            return

        def answered(allow: bool | None) -> None:
            self._clipboard_allowed[sandbox_id] = bool(allow)
            text = self._clipboard_asked.pop(sandbox_id, "")
            if allow:
                self.app.copy_to_clipboard(text)

        preview = event.text if len(event.text) <= 60 else event.text[:57] + "..."
        self.app.push_screen(
            ConfirmDialog(
                "Clipboard",
                f"A program in sandbox {sandbox_id} wants to set your clipboard to "
                f"{preview!r} ({len(event.text)} characters). Allow this sandbox to set the "
                "clipboard until caged-tui quits?",
                confirm_label="Allow",
            ),
            answered,
        )

    @on(TerminalView.FocusReleased)
    def _focus_released(self) -> None:
        self._focus_tabs()

    def _focus_tabs(self) -> None:
        self.query_one(TabbedContent).query_one("Tabs").focus()
        self.refresh_bindings()

    def _label(self, tab: TerminalTab, *, connected: bool) -> None:
        self.refresh_bindings()
        mark = "" if connected else " ✖"
        self.query_one(TabbedContent).get_tab(tab).label = f"{tab.number}: {tab.sandbox_id}{mark}"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a connected terminal has the focus its keys go to the shell: hide
        the screen keys it would swallow anyway (``esc`` belongs to vim there)."""
        if action == "resume":
            tab = self._current()
            return tab is not None and tab.ending is not None and tab.ending.kind is EndKind.PAUSED
        focused = self.focused
        if isinstance(focused, TerminalView):
            # It has the keyboard already; connected, esc belongs to the shell (vim).
            return action != "focus_terminal" and not (focused.connected and action == "back")
        return True

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        """Back to the sandboxes list (the terminals stay open)."""
        self.app.switch_mode("sandboxes")

    def action_focus_terminal(self) -> None:
        """Give the keyboard to the terminal in front."""
        if tab := self._current():
            tab.view.focus()

    def action_switch(self, step: int) -> None:
        """Show the previous or next tab."""
        tabs = self._tabs()
        current = self._current()
        if not tabs or current is None:
            return
        index = (tabs.index(current) + step) % len(tabs)
        self.query_one(TabbedContent).active = tabs[index].id or ""

    def action_new(self) -> None:
        """Open another terminal into the sandbox of the tab in front."""
        if tab := self._current():
            self.run_worker(
                self.add_terminal(tab.sandbox_id), group="terminals.add", exit_on_error=False
            )

    async def action_close(self) -> None:
        """Close the tab in front and its socket."""
        if tab := self._current():
            await self._close(tab)

    async def _close(self, tab: TerminalTab) -> None:
        if tab.transport is not None:
            await tab.transport.close()
        await self.query_one(TabbedContent).remove_pane(tab.id or "")
        self._update_empty()

    def action_resume(self) -> None:
        """Resume the paused sandbox of the tab in front; its terminals reconnect."""
        if tab := self._current():
            self._resume(tab.sandbox_id)

    @work(group="terminals.resume", exit_on_error=False, description="Resuming the sandbox")
    async def _resume(self, sandbox_id: str) -> None:
        await self.client.sandboxes.resume(sandbox_id)
        self.notify(f"Resumed {sandbox_id}")
        self.post_message(SandboxResumed(sandbox_id))

    @on(SandboxResumed)
    def _resumed(self, event: SandboxResumed) -> None:
        for tab in self._tabs():
            paused = tab.ending is not None and tab.ending.kind is EndKind.PAUSED
            if tab.sandbox_id == event.sandbox_id and paused:
                tab.ending = None
                self.connect(tab)

    async def on_unmount(self) -> None:
        for tab in self._tabs():
            if tab.transport is not None:
                await tab.transport.close()
