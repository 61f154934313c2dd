"""One sandbox: overview, logs, ports, trust scores and an exec prompt, as tabs.

Live data comes from the app's live feed, never from a poller here: the screen
subscribes to four topics of this sandbox — the sandbox itself always, the
logs while following on their tab, ports and trust while their tab is open
(a topic whose tab is hidden answers "unchanged" without a request). Exec
streams through ``client.sandboxes.exec_stream`` (the marker protocol over the
terminal socket).
"""

from __future__ import annotations

import asyncio
import webbrowser
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable, Input, RichLog, Static, TabbedContent, TabPane
from textual.widgets.data_table import CellDoesNotExist

from caged_core.client import AsyncCaged
from caged_core.client.realtime.exec_stream import ExecStream
from caged_core.errors import CagedNotFoundError
from caged_core.models import LogEntry, Port, Sandbox, SandboxStatus, TrustScore
from caged_tui import formatting as fmt
from caged_tui.live import Fetched, TopicSpec
from caged_tui.screens.base import CagedScreen
from caged_tui.streams import LineBuffer, batched
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.exec_prompt import ExecPrompt

TABS = ("overview", "logs", "ports", "trust", "exec")
#: Log entries fetched per poll; the platform keeps the newest ones.
LOG_TAIL = 500
PORT_COLUMNS = (
    ("PORT", 6),
    ("PROTOCOL", 9),
    ("PREVIEW URL", 64),
    ("PROTECTED", 9),
    ("DETECTED", 8),
)
TRUST_COLUMNS = (("SESSION", 20), ("SCORE", 5), ("BAND", 9), ("UPDATED", 23), ("DEDUCTIONS", 10))
#: Lines of exec output kept on screen, and drawn at most per batch of output.
EXEC_MAX_LINES = 2000
EXEC_BATCH_LINES = 24
#: Seconds ``ctrl+c`` waits for the interrupted command to report before dropping the socket.
INTERRUPT_GRACE = 3.0


def _terminal_text(line: str) -> Text:
    """A line of PTY output; ANSI styles are parsed only when there are any (cheaper)."""
    return Text.from_ansi(line) if "\x1b" in line else Text(line)


def trust_band(score: int) -> str:
    """The docs' trust bands: excellent, good, caution, alert."""
    if score >= 90:
        return "excellent"
    if score >= 70:
        return "good"
    if score >= 50:
        return "caution"
    return "alert"


def log_key(entry: LogEntry) -> tuple[object, str, str]:
    """What identifies a log entry across polls (entries carry no id)."""
    return (entry.timestamp, entry.type, entry.message)


def new_entries(old: list[LogEntry], new: list[LogEntry]) -> list[LogEntry] | None:
    """The entries of ``new`` after the last entry of ``old``, or None when the two
    windows do not overlap (then everything must be redrawn)."""
    if not old:
        return new
    last = log_key(old[-1])
    for index in range(len(new) - 1, -1, -1):
        if log_key(new[index]) == last:
            return new[index + 1 :]
    return None


@dataclass
class SandboxLoaded(Message):
    """The sandbox's current state."""

    sandbox: Sandbox


@dataclass(frozen=True, slots=True)
class Gone:
    """What the sandbox topic holds once the sandbox no longer exists."""

    sandbox_id: str


@dataclass
class SandboxGone(Message):
    """The sandbox no longer exists."""

    sandbox_id: str


@dataclass
class LogsLoaded(Message):
    """The newest log entries."""

    entries: list[LogEntry]


@dataclass
class PortsLoaded(Message):
    """The sandbox's listening ports."""

    ports: list[Port]


@dataclass
class TrustLoaded(Message):
    """Trust scores of the sandbox's sessions."""

    scores: list[TrustScore]


@dataclass
class ExecOutput(Message):
    """A chunk of a running command's output."""

    text: str


@dataclass
class ExecFinished(Message):
    """The command ended; ``exit_code`` is None when it was never reported."""

    command: str
    exit_code: int | None
    interrupted: bool = False


class SandboxDetailScreen(CagedScreen[None]):
    """Everything about one sandbox."""

    SCREEN_TITLE = "Sandbox"
    CSS_PATH = "detail.tcss"
    AUTO_FOCUS = "#detail-tabs Tabs"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("l", "tab('logs')", "Logs", id="detail.logs"),
        Binding("x", "exec", "Exec", id="detail.exec"),
        Binding("t", "terminal", "Terminal", id="detail.terminal"),
        Binding("p", "pause_resume", "Pause/resume", id="detail.pause_resume"),
        Binding("d", "destroy", "Destroy", id="detail.destroy"),
        Binding("y", "copy", "Copy id/URL", id="detail.copy"),
        Binding("o", "open_port", "Open in browser", id="detail.open_port"),
        Binding("slash", "search", "Search logs", key_display="/", id="detail.search"),
        Binding("F", "follow", "Follow on/off", id="detail.follow"),
        Binding("w", "wrap", "Wrap on/off", id="detail.wrap"),
        Binding("r,ctrl+r", "refresh", "Refresh", id="detail.refresh"),
        Binding("ctrl+c", "interrupt", "Interrupt", show=False, id="detail.interrupt"),
    ]

    sandbox: reactive[Sandbox | None] = reactive(None, init=False)
    following: reactive[bool] = reactive(True, init=False)
    wrap: reactive[bool] = reactive(False, init=False)
    search: reactive[str] = reactive("", init=False)
    running_command: reactive[str] = reactive("", init=False)

    def __init__(self, sandbox_id: str, *, tab: str = "overview") -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self._initial_tab = tab if tab in TABS else "overview"
        self._logs: list[LogEntry] = []
        self._ports: list[Port] = []
        self._scores: list[TrustScore] = []
        self._exec_lines = LineBuffer()
        self._exec_done = asyncio.Event()
        self._stream: ExecStream | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(self.sandbox_id, id="detail-title")
        with TabbedContent(initial=self._initial_tab, id="detail-tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield Static(id="overview-body")
            with TabPane("Logs", id="logs"):
                yield Input(placeholder="search the logs", id="logs-search")
                yield Static(id="logs-info")
                yield RichLog(id="logs-view", markup=False, highlight=False, wrap=False)
            with TabPane("Ports", id="ports"):
                yield DataTable[Text](id="ports-table", cursor_type="row")
                yield Static("No listening ports.", id="ports-empty")
            with TabPane("Trust", id="trust"):
                yield DataTable[Text](id="trust-table", cursor_type="row")
                yield Static(id="trust-deductions")
            with TabPane("Exec", id="exec"):
                yield RichLog(
                    id="exec-output",
                    markup=False,
                    highlight=False,
                    wrap=True,
                    max_lines=EXEC_MAX_LINES,
                )
                yield Static(
                    "Type a command and press enter · ↑/↓ history · ctrl+c interrupts",
                    id="exec-status",
                )
                yield ExecPrompt(id="exec-prompt")

    def on_mount(self) -> None:
        super().on_mount()
        # Fixed widths: these tables are rebuilt on every poll, and auto-sized
        # columns would make the header jump while rows arrive.
        for table_id, columns in (("#ports-table", PORT_COLUMNS), ("#trust-table", TRUST_COLUMNS)):
            table = self.query_one(table_id, DataTable)
            for label, width in columns:
                table.add_column(label, width=width)
        self._render_logs_info()
        live = self.caged.live
        sid = self.sandbox_id
        live.subscribe(
            self, TopicSpec(f"sandbox:{sid}", self._fetch_sandbox), self._sandbox_fetched
        )
        live.subscribe(self, TopicSpec(f"logs:{sid}", self._fetch_logs), self._logs_fetched)
        live.subscribe(self, TopicSpec(f"ports:{sid}", self._fetch_ports), self._ports_fetched)
        live.subscribe(self, TopicSpec(f"trust:{sid}", self._fetch_trust), self._trust_fetched)
        if self._initial_tab == "exec":
            self.call_after_refresh(self.query_one(ExecPrompt).focus)

    @property
    def active_tab(self) -> str:
        """The id of the tab in front."""
        return self.query_one(TabbedContent).active

    # ------------------------------------------------------------------ live topics

    def refresh_all(self) -> None:
        """Reload the sandbox and whatever the tab in front shows, now."""
        self.caged.live.poke()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self.refresh_all()
        self.refresh_bindings()

    def _shows(self, tab: str) -> bool:
        return self.is_attached and self.is_current and self.active_tab == tab

    async def _fetch_sandbox(self, client: AsyncCaged, etag: str | None) -> Fetched[Sandbox | Gone]:
        try:
            return Fetched(await client.sandboxes.get(self.sandbox_id))
        except CagedNotFoundError:
            return Fetched(Gone(self.sandbox_id))

    async def _fetch_logs(self, client: AsyncCaged, etag: str | None) -> Fetched[list[LogEntry]]:
        if not (self.following and self._shows("logs")):
            return Fetched(None)
        return Fetched(await client.sandboxes.logs(self.sandbox_id, tail=LOG_TAIL))

    async def _fetch_ports(self, client: AsyncCaged, etag: str | None) -> Fetched[list[Port]]:
        if not self._shows("ports"):
            return Fetched(None)
        return Fetched(await client.sandboxes.ports(self.sandbox_id))

    async def _fetch_trust(self, client: AsyncCaged, etag: str | None) -> Fetched[list[TrustScore]]:
        if not self._shows("trust"):
            return Fetched(None)
        return Fetched(await client.sandboxes.trust_scores(self.sandbox_id))

    def _sandbox_fetched(self, value: Sandbox | Gone) -> None:
        self.post_message(
            SandboxGone(value.sandbox_id) if isinstance(value, Gone) else SandboxLoaded(value)
        )

    def _logs_fetched(self, entries: list[LogEntry]) -> None:
        self.post_message(LogsLoaded(entries))

    def _ports_fetched(self, ports: list[Port]) -> None:
        self.post_message(PortsLoaded(ports))

    def _trust_fetched(self, scores: list[TrustScore]) -> None:
        self.post_message(TrustLoaded(scores))

    # ------------------------------------------------------------------ overview

    @on(SandboxLoaded)
    def _sandbox_loaded(self, event: SandboxLoaded) -> None:
        self.sandbox = event.sandbox

    @on(SandboxGone)
    def _sandbox_gone(self) -> None:
        self.add_class("-gone")
        self.query_one("#detail-title", Static).update(f"{self.sandbox_id} — no longer exists")

    def watch_sandbox(self, sandbox: Sandbox | None) -> None:
        if sandbox is None:
            return
        for status in ("running", "paused", "pending", "stopped", "error"):
            self.set_class(sandbox.status.value == status, f"-{status}")
        title = f"{sandbox.id} · {sandbox.status.value} · {sandbox.template}"
        self.query_one("#detail-title", Static).update(title)
        self.query_one("#overview-body", Static).update(self._overview(sandbox))

    def _overview(self, sb: Sandbox) -> Table:
        now = self.now()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        config = sb.config
        rows: list[tuple[str, str]] = [
            ("id", sb.id),
            ("status", sb.status.value),
            ("template", sb.template),
            ("ip", sb.ip or fmt.DASH),
            ("cpus", str(sb.cpus)),
            ("memory", f"{sb.memory_mb} MB"),
            ("disk", f"{sb.disk_gb} GB"),
            ("network", sb.network_mode.value),
            ("allowlist", ", ".join(sb.allowlist) or fmt.DASH),
            ("repository", sb.repo_url or fmt.DASH),
            (
                "cost",
                f"{fmt.money(sb.cost)} compute + {fmt.money(sb.llm_cost)} LLM"
                f" = {fmt.money(sb.total_cost)}",
            ),
            ("budget", fmt.money(sb.budget) if sb.budget is not None else fmt.DASH),
            ("idle timeout", fmt.duration(sb.timeout or 900)),
            ("auto-pause in", fmt.until(sb.idle_deadline, now)),
            ("created", f"{fmt.timestamp(sb.created_at)} ({fmt.since(sb.created_at, now)} ago)"),
            ("started", fmt.timestamp(sb.started_at)),
            ("stopped", fmt.timestamp(sb.stopped_at)),
            ("last activity", fmt.timestamp(sb.last_activity_at)),
            ("uptime", fmt.uptime(sb, now)),
            ("last error", sb.last_error or fmt.DASH),
            ("config source", (config.source if config else None) or fmt.DASH),
            ("isolation", (config.isolation if config else None) or fmt.DASH),
            ("limits", (config.limits if config else None) or fmt.DASH),
            ("network policy", (config.network if config else None) or fmt.DASH),
            ("init script", sb.init_script or fmt.DASH),
        ]
        for name, value in rows:
            grid.add_row(name, Text(value))
        if config and config.raw:
            grid.add_row("config", Text(config.raw))
        return grid

    # ------------------------------------------------------------------ logs

    @on(LogsLoaded)
    def _logs_loaded(self, event: LogsLoaded) -> None:
        added = new_entries(self._logs, event.entries)
        self._logs = event.entries
        if added is None:
            self._render_logs()
        else:
            view = self.query_one("#logs-view", RichLog)
            for entry in added:
                if self._matches(entry):
                    view.write(self._log_line(entry))

    def _matches(self, entry: LogEntry) -> bool:
        return not self.search or self.search.lower() in entry.message.lower()

    def _log_line(self, entry: LogEntry) -> Text:
        moment = entry.timestamp.strftime("%H:%M:%S") if entry.timestamp else "--:--:--"
        line = Text.assemble((moment, "dim"), " ", (f"{entry.type:<9}", "bold"), " ", entry.message)
        if self.search:
            line.highlight_words([self.search], style="reverse", case_sensitive=False)
        return line

    def _render_logs(self) -> None:
        view = self.query_one("#logs-view", RichLog)
        view.clear()
        view.wrap = self.wrap
        view.auto_scroll = self.following
        for entry in self._logs:
            if self._matches(entry):
                view.write(self._log_line(entry))
        self._render_logs_info()

    def _render_logs_info(self) -> None:
        parts = [
            "following (F pauses)" if self.following else "paused (F follows)",
            "wrap on" if self.wrap else "wrap off (w)",
        ]
        if self.search:
            parts.append(f"search: {self.search!r}")
        self.query_one("#logs-info", Static).update(" · ".join(parts))

    def watch_following(self) -> None:
        self.query_one("#logs-view", RichLog).auto_scroll = self.following
        self._render_logs_info()
        if self.following:
            self.refresh_all()

    def watch_wrap(self) -> None:
        self._render_logs()

    def watch_search(self) -> None:
        self._render_logs()

    def action_search(self) -> None:
        """Search the logs: only matching lines are shown, the match highlighted."""
        box = self.query_one("#logs-search", Input)
        box.add_class("-open")
        # Focus once it is displayed: a hidden widget cannot take the focus.
        self.call_after_refresh(box.focus)

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

    # ------------------------------------------------------------------ ports and trust

    @on(PortsLoaded)
    def _ports_loaded(self, event: PortsLoaded) -> None:
        if event.ports == self._ports and self.query_one("#ports-table", DataTable).row_count:
            return  # unchanged: keep the table (and its cursor) as it is
        self._ports = event.ports
        table = self.query_one("#ports-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for port in event.ports:
            table.add_row(
                Text(str(port.port)),
                Text(port.protocol),
                Text(port.preview_url or fmt.DASH),
                Text("yes" if port.protected else "no"),
                Text(fmt.since(port.detected_at, self.now())),
                key=str(port.port),
            )
        table.move_cursor(row=cursor, animate=False)
        self.set_class(not event.ports, "-no-ports")

    @on(TrustLoaded)
    def _trust_loaded(self, event: TrustLoaded) -> None:
        if event.scores == self._scores and self.query_one("#trust-table", DataTable).row_count:
            return  # unchanged: keep the table (and its cursor) as it is
        self._scores = event.scores
        table = self.query_one("#trust-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for score in event.scores:
            table.add_row(
                Text(score.session_id),
                Text(str(score.score)),
                Text(trust_band(score.score)),
                Text(fmt.timestamp(score.updated_at)),
                Text(str(len(score.deductions))),
                key=score.session_id,
            )
        table.move_cursor(row=cursor, animate=False)
        self._render_deductions()

    @on(DataTable.RowHighlighted, "#trust-table")
    def _render_deductions(self) -> None:
        table = self.query_one("#trust-table", DataTable)
        body = self.query_one("#trust-deductions", Static)
        if not self._scores:
            body.update("No agent sessions yet: trust is scored per session.")
            return
        score = self._scores[min(table.cursor_row, len(self._scores) - 1)]
        if not score.deductions:
            body.update(f"{score.session_id}: no deductions.")
            return
        lines = Text(f"Deductions of {score.session_id}:\n", style="bold")
        for deduction in score.deductions:
            lines.append(f"  -{deduction.points:<3} {deduction.rule}: {deduction.reason}\n")
        body.update(lines)

    def _selected_port(self) -> Port | None:
        table = self.query_one("#ports-table", DataTable)
        try:
            row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return next((p for p in self._ports if str(p.port) == row_key.value), None)

    def action_open_port(self) -> None:
        """Open the selected port's preview URL in the browser."""
        port = self._selected_port()
        if port is None or not port.preview_url:
            self.notify("No preview URL selected.", severity="warning")
            return
        self.open_url(port.preview_url)

    @work(
        thread=True, group="detail.browser", exit_on_error=False, description="Opening the browser"
    )
    def open_url(self, url: str) -> None:
        """``webbrowser`` may block (it can start a browser), hence a thread."""
        if not webbrowser.open(url):
            self.app.call_from_thread(
                self.notify, f"No browser available. URL: {url}", severity="warning"
            )

    def action_copy(self) -> None:
        """Copy the preview URL on the ports tab, the sandbox id elsewhere."""
        text = self.sandbox_id
        if self.active_tab == "ports" and (port := self._selected_port()) and port.preview_url:
            text = port.preview_url
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text}")

    # ------------------------------------------------------------------ exec

    def action_exec(self) -> None:
        """Switch to the exec tab and focus the prompt."""
        self.query_one(TabbedContent).active = "exec"
        self.query_one(ExecPrompt).focus()

    @on(ExecPrompt.CommandEntered)
    def _exec_entered(self, event: ExecPrompt.CommandEntered) -> None:
        if self.running_command:
            self.notify("A command is still running (ctrl+c interrupts it).", severity="warning")
            return
        output = self.query_one("#exec-output", RichLog)
        output.write(Text(f"$ {event.command}", style="bold"))
        self.running_command = event.command
        self.run_command(event.command)

    def watch_running_command(self, command: str) -> None:
        status = self.query_one("#exec-status", Static)
        self.set_class(bool(command), "-exec-running")
        if command:
            status.set_classes("-running")
            status.update(f"running: {command}   (ctrl+c interrupts)")

    @work(
        exclusive=True, group="detail.exec", exit_on_error=False, description="Running the command"
    )
    async def run_command(self, command: str) -> None:
        """Stream ``command``'s output; closing the stream (cancel) stops it."""
        self._exec_done.clear()
        stream = await self.client.sandboxes.exec_stream(self.sandbox_id, command)
        self._stream = stream
        interrupted = False
        try:
            async for text in batched(stream):
                self.post_message(ExecOutput(text))
        except asyncio.CancelledError:
            interrupted = True
            raise
        finally:
            await stream.close()
            self._exec_done.set()
            self.post_message(ExecFinished(command, stream.exit_code, interrupted))

    def action_interrupt(self) -> None:
        """Interrupt the running command (like ctrl+c in a shell)."""
        if not self.running_command:
            return
        self.interrupt()

    @work(group="detail.interrupt", exit_on_error=False, description="Interrupting")
    async def interrupt(self) -> None:
        """Send ctrl+c; drop the socket if the command does not end in time."""
        if self._stream is not None:
            await self._stream.kill()
        try:
            await asyncio.wait_for(self._exec_done.wait(), INTERRUPT_GRACE)
        except TimeoutError:
            self.workers.cancel_group(self, "detail.exec")

    @on(ExecOutput)
    def _exec_output(self, event: ExecOutput) -> None:
        output = self.query_one("#exec-output", RichLog)
        lines = self._exec_lines.feed(event.text)
        if len(lines) > EXEC_BATCH_LINES:
            # A flood (``yes``): drawing every line would starve the event loop,
            # and with it the ctrl+c that should stop the command.
            skipped = len(lines) - EXEC_BATCH_LINES
            output.write(Text(f"… {skipped} lines not shown (output too fast)", style="dim"))
            lines = lines[-EXEC_BATCH_LINES:]
        for line in lines:
            output.write(_terminal_text(line))

    @on(ExecFinished)
    def _exec_finished(self, event: ExecFinished) -> None:
        output = self.query_one("#exec-output", RichLog)
        if rest := self._exec_lines.flush():
            output.write(_terminal_text(rest))
        self.running_command = ""
        status = self.query_one("#exec-status", Static)
        if event.interrupted:
            status.set_classes("-failed")
            status.update(f"interrupted: {event.command}")
        elif event.exit_code is None:
            status.set_classes("-failed")
            status.update(f"exit code unknown (the connection ended): {event.command}")
        else:
            status.set_classes("-ok" if event.exit_code == 0 else "-failed")
            mark = "✔" if event.exit_code == 0 else "✘"
            status.update(f"{mark} exit {event.exit_code}: {event.command}")
        output.write(
            Text(f"[exit {event.exit_code if event.exit_code is not None else '?'}]", style="dim")
        )

    # ------------------------------------------------------------------ lifecycle actions

    def action_tab(self, tab: str) -> None:
        """Show one of the tabs."""
        self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        """Close a search box first, then go back to the list."""
        box = self.query_one("#logs-search", Input)
        if box.has_class("-open"):
            box.remove_class("-open")
            box.value = ""
            self.query_one("#logs-view", RichLog).focus()
            return
        self.app.pop_screen()

    def action_refresh(self) -> None:
        """Reload everything now."""
        self.refresh_all()

    def action_terminal(self) -> None:
        """Open a terminal into this sandbox."""
        self.caged.open_terminal(self.sandbox_id)

    def action_pause_resume(self) -> None:
        """Pause when running, resume when paused."""
        if self.sandbox is None:
            return
        if self.sandbox.status not in (SandboxStatus.RUNNING, SandboxStatus.PAUSED):
            self.notify(
                f"{self.sandbox_id} is {self.sandbox.status.value}: nothing to do.",
                severity="warning",
            )
            return
        self.pause_resume(self.sandbox.status == SandboxStatus.RUNNING)

    @work(group="detail.action", exit_on_error=False, description="Pause/resume")
    async def pause_resume(self, pause: bool) -> None:
        """Pause or resume the sandbox."""
        if pause:
            await self.client.sandboxes.pause(self.sandbox_id)
        else:
            await self.client.sandboxes.resume(self.sandbox_id)
        self.notify(f"{'Paused' if pause else 'Resumed'} {self.sandbox_id}")
        self.refresh_all()

    def action_destroy(self) -> None:
        """Destroy the sandbox after confirmation."""
        dialog = ConfirmDialog(
            "Destroy sandbox?",
            f"{self.sandbox_id}\n\nThis deletes the sandbox and its files. It cannot be undone.",
        )

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.destroy_sandbox()

        self.app.push_screen(dialog, callback=confirmed)

    @work(group="detail.action", exit_on_error=False, description="Destroy")
    async def destroy_sandbox(self) -> None:
        """Destroy the sandbox and go back to the list."""
        await self.client.sandboxes.destroy(self.sandbox_id)
        self.notify(f"Destroyed {self.sandbox_id}")
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer tab-specific keys only on their tab (the footer stays short)."""
        per_tab = {
            "open_port": "ports",
            "search": "logs",
            "follow": "logs",
            "wrap": "logs",
        }
        if not self.is_mounted:
            return True
        if action == "interrupt":
            # Without a running command ctrl+c falls through to the app (quit).
            return bool(self.running_command)
        if action in per_tab:
            return self.active_tab == per_tab[action]
        return True
