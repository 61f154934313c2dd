"""The logs panel: the newest entries, followed live, searchable, wrapped on demand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, RichLog, Static

from caged_core.models import LogEntry
from caged_tui.safe_text import controls_escaped
from caged_tui.screens.detail.panel import DetailPanel

#: Log entries fetched per poll; the platform keeps the newest ones.
LOG_TAIL = 500


def log_key(entry: LogEntry) -> tuple[object, str, str]:
    """What identifies a log entry across polls (entries carry no id)."""
    return (entry.timestamp, entry.type, entry.message)


def new_entries(old: Sequence[LogEntry], new: Sequence[LogEntry]) -> Sequence[LogEntry] | None:
    """The entries of ``new`` after the last entry of ``old``, or None when the two
    windows do not overlap (then everything must be redrawn)."""
    if not old:
        return new
    last = log_key(old[-1])
    for index in range(len(new) - 1, -1, -1):
        if log_key(new[index]) == last:
            return new[index + 1 :]
    return None


class LogsPanel(DetailPanel):
    """The sandbox's logs; polled (through the live feed) only while following in front."""

    PANEL_ID = "logs"
    TITLE = "Logs"
    FOCUS = "#logs-view"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search logs", key_display="/", id="detail.logs.search"),
        Binding("F", "follow", "Follow on/off", id="detail.logs.follow"),
        Binding("w", "wrap", "Wrap on/off", id="detail.logs.wrap"),
        Binding("escape", "close_search", "Close search", show=False, id="detail.logs.close"),
    ]

    following: reactive[bool] = reactive(True, init=False)
    wrap: reactive[bool] = reactive(False, init=False)
    search: reactive[str] = reactive("", init=False)

    @dataclass
    class Loaded(Message):
        """The newest log entries."""

        entries: Sequence[LogEntry]

    def __init__(self, sandbox_id: str) -> None:
        super().__init__(sandbox_id)
        self._logs: Sequence[LogEntry] = ()

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search the logs", id="logs-search")
        yield Static(id="logs-info")
        yield RichLog(id="logs-view", markup=False, highlight=False, wrap=False)

    def on_mount(self) -> None:
        self._render_info()
        self.follow(
            "logs",
            lambda client: client.sandboxes.logs(self.sandbox_id, tail=LOG_TAIL),
            self.Loaded,
            when=lambda: self.following,
        )

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        added = new_entries(self._logs, event.entries)
        self._logs = event.entries
        if added is None:
            self._redraw()
            return
        view = self.query_one("#logs-view", RichLog)
        for entry in added:
            if self._matches(entry):
                view.write(self._line(entry))

    def _matches(self, entry: LogEntry) -> bool:
        return not self.search or self.search.lower() in entry.message.lower()

    def _line(self, entry: LogEntry) -> Text:
        return log_line(entry, self.search)

    def _redraw(self) -> None:
        view = self.query_one("#logs-view", RichLog)
        view.clear()
        view.wrap = self.wrap
        view.auto_scroll = self.following
        for entry in self._logs:
            if self._matches(entry):
                view.write(self._line(entry))
        self._render_info()

    def _render_info(self) -> None:
        parts = [
            "following (F pauses)" if self.following else "paused (F follows)",
            "wrap on" if self.wrap else "wrap off (w)",
        ]
        if self.search:
            parts.append(f"search: {self.search!r}")
        self.query_one("#logs-info", Static).update(" · ".join(parts))

    def watch_following(self) -> None:
        self.query_one("#logs-view", RichLog).auto_scroll = self.following
        self._render_info()
        if self.following:
            self.caged.live.poke()

    def watch_wrap(self) -> None:
        self._redraw()

    def watch_search(self) -> None:
        self._redraw()

    def action_search(self) -> None:
        """Search the logs: only matching lines are shown, the match highlighted."""
        box = self.query_one("#logs-search", Input)
        box.add_class("-open")
        # Focus once it is displayed: a hidden widget cannot take the focus.
        self.call_after_refresh(box.focus)

    def action_close_search(self) -> None:
        """Close the search box and show every line again."""
        box = self.query_one("#logs-search", Input)
        box.remove_class("-open")
        box.value = ""
        self.query_one("#logs-view", RichLog).focus()

    @on(Input.Changed, "#logs-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value

    @on(Input.Submitted, "#logs-search")
    def _search_submitted(self) -> None:
        self.query_one("#logs-view", RichLog).focus()

    def action_follow(self) -> None:
        """Pause or resume following the logs."""
        self.following = not self.following

    def action_wrap(self) -> None:
        """Wrap long log lines, or not."""
        self.wrap = not self.wrap

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``esc`` closes the search box when it is open, else goes back (the screen's)."""
        if action == "close_search":
            return self.query_one("#logs-search", Input).has_class("-open")
        return True


def log_line(entry: LogEntry, search: str) -> Text:
    """A log entry as the tab shows it, ``search`` highlighted. Its message is shown with
    control characters escaped: logs hold the output of a sandbox's init steps."""
    moment = entry.timestamp.strftime("%H:%M:%S") if entry.timestamp else "--:--:--"
    message = controls_escaped(entry.message, keep="\n\t")  # lines laid out by Rich
    line = Text.assemble((moment, "dim"), " ", (f"{entry.type:<9}", "bold"), " ", message)
    if search:
        line.highlight_words([search], style="reverse", case_sensitive=False)
    return line
