"""The alerts screen (``:alerts``; a click on the header's ⚠ count comes here too).

Two tabs: the alerts, open first by severity (``enter`` details, ``R`` resolves the
marked ones or the one under the cursor, ``s``/``v`` filter by state and severity),
and the rules (:mod:`caged_tui.screens.alerts.rules`). The list is a live-feed topic,
fetched (every page of ``GET /alerts``) while this screen is in front; toasts for new
alerts are the app's business (:mod:`caged_tui.alert_watch`), on every screen.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static, TabbedContent, TabPane

from caged_core.client import AsyncCaged
from caged_core.models import Alert, AlertState
from caged_tui.live import Fetched, TopicSpec
from caged_tui.screens.alerts.detail import AlertDetailScreen
from caged_tui.screens.alerts.rules import RulesPanel
from caged_tui.screens.base import CagedScreen
from caged_tui.widgets.alert_table import AlertTable, alert_order, alert_source

#: The slowest this screen's data is fetched, in seconds (a poke fetches it at once).
PACE = 10.0

#: Seconds between repaints of the ages (only rows whose text changed repaint).
CLOCK_SECONDS = 10.0
#: The state filter ``s`` cycles through (None: every state).
STATES: tuple[str | None, ...] = (None, "open", "resolved")
#: The severity filter ``v`` cycles through.
SEVERITIES: tuple[str | None, ...] = (None, "critical", "warning", "info")


class AlertsScreen(CagedScreen[None]):
    """Every alert of the account, live, with the rules that raise them."""

    SCREEN_TITLE = "Alerts"
    CSS_PATH = "alerts.tcss"
    AUTO_FOCUS = "#alerts-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Details", id="alerts.open"),
        Binding("R", "resolve", "Resolve", id="alerts.resolve"),
        Binding("space", "mark", "Mark and move down", show=False, id="alerts.mark"),
        Binding("s", "cycle_state", "State filter", id="alerts.state"),
        Binding("v", "cycle_severity", "Severity filter", id="alerts.severity"),
        Binding("1", "tab('alerts-list')", "Alerts tab", show=False, id="alerts.tab_list"),
        Binding("2", "tab('alerts-rules')", "Rules tab", id="alerts.tab_rules"),
        Binding("X", "dismiss_toasts", "Dismiss toasts", show=False, id="alerts.dismiss"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="alerts.refresh"),
        Binding("escape", "clear", "Clear marks", show=False, id="alerts.clear"),
    ]

    PARTS = (RulesPanel,)

    state_filter: reactive[str | None] = reactive(None, init=False)
    severity_filter: reactive[str | None] = reactive(None, init=False)
    marked: reactive[frozenset[str]] = reactive(frozenset, init=False)
    loaded: reactive[bool] = reactive(False, init=False)

    def __init__(self) -> None:
        super().__init__()
        self._source = alert_source(self.now())

    def compose_body(self) -> ComposeResult:
        with TabbedContent(initial="alerts-list", id="alerts-tabs"):
            with TabPane("Alerts", id="alerts-list"):
                yield Static("Loading alerts…", id="alerts-info")
                yield AlertTable(self._source, id="alerts-table")
            yield RulesPanel()

    def on_mount(self) -> None:
        super().on_mount()
        # Every page each round would be heavy with thousands of alerts: new alerts poke
        # the feed (alert_watch), and so does every resolve here; the rest may wait 10 s.
        spec = TopicSpec("alerts", self._fetch, min_interval=PACE)
        self.caged.live.subscribe(self, spec, self._loaded)
        self.set_interval(CLOCK_SECONDS, self._clock)

    def on_screen_resume(self) -> None:
        # Back in front: the data paced while away is fetched now, not at the next pace.
        self.caged.live.poke()

    async def _fetch(self, client: AsyncCaged, etag: str | None) -> Fetched[list[Alert]]:
        # Only while in front: a mode screen stays mounted on the other screens.
        if not self.is_current and self.loaded:
            return Fetched(None)
        return Fetched([alert async for alert in client.alerts.list(limit=100)])

    @property
    def table(self) -> AlertTable:
        """The list widget."""
        return self.query_one(AlertTable)

    # ------------------------------------------------------------------ loading

    def _loaded(self, alerts: list[Alert]) -> None:
        self._source.retime(self.now(), ())
        self.table.source_changed(self._source.update(alerts))
        self.marked = self.marked & {alert.id for alert in alerts}
        self.loaded = True
        self._render_info()

    def _clock(self) -> None:
        """Move the ages on (a repaint, not a request)."""
        if self.is_current and self.caged.in_foreground:
            table = self.table
            table.refresh_keys(self._source.retime(self.now(), table.visible_keys()))

    def watch_state_filter(self) -> None:
        self._apply_view()

    def watch_severity_filter(self) -> None:
        self._apply_view()

    def watch_marked(self, marked: frozenset[str]) -> None:
        self.table.set_marks(marked)
        self._render_info()

    def _apply_view(self) -> None:
        state, severity = self.state_filter, self.severity_filter

        def keep(alert: Alert) -> bool:
            return (state is None or alert.state.value == state) and (
                severity is None or alert.severity.value == severity
            )

        filtered = state is not None or severity is not None
        self._source.view(filter=keep if filtered else None, sort=alert_order, reverse=False)
        self.table.source_changed()
        self._render_info()

    def _render_info(self) -> None:
        if not self.loaded:
            return
        items = self._source.items
        open_count = sum(1 for alert in items if alert.state == AlertState.OPEN)
        parts = [f"{len(items)} alert{'' if len(items) == 1 else 's'}, {open_count} open"]
        if self.state_filter or self.severity_filter:
            shown = " · ".join(f for f in (self.state_filter, self.severity_filter) if f)
            parts.append(f"showing {shown} ({self._source.row_count})")
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        if not items:
            parts = ["No alerts. Budgets, cost anomalies, stuck agents, error spikes and low"
                     " trust raise them; the Rules tab (2) says when."]  # fmt: skip
        self.query_one("#alerts-info", Static).update(" · ".join(parts))

    # ------------------------------------------------------------------ selection

    def _current(self) -> Alert | None:
        key = self.table.cursor_key
        return self._source.get(key) if key is not None else None

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab: str) -> None:
        """Show the alerts or the rules tab."""
        self.query_one(TabbedContent).active = tab
        if tab == "alerts-list":
            self.call_after_refresh(self.table.focus)
        else:
            self.query_one(RulesPanel).reveal()

    def action_refresh(self) -> None:
        """Reload now."""
        self.caged.live.poke()

    def action_dismiss_toasts(self) -> None:
        """Dismiss every toast (critical alerts' toasts stay until dismissed)."""
        self.app.clear_notifications()

    def action_cycle_state(self) -> None:
        """Show every state, then only open, then only resolved alerts."""
        self.state_filter = STATES[(STATES.index(self.state_filter) + 1) % len(STATES)]

    def action_cycle_severity(self) -> None:
        """Show every severity, then only critical, warning or info alerts."""
        index = SEVERITIES.index(self.severity_filter)
        self.severity_filter = SEVERITIES[(index + 1) % len(SEVERITIES)]

    def action_mark(self) -> None:
        """Mark or unmark the alert under the cursor (``R`` then resolves the marked ones)."""
        current = self._current()
        if current is not None:
            self.marked = self.marked ^ {current.id}
            self.table.action_cursor_down()

    def action_clear(self) -> None:
        """Clear the marks."""
        self.marked = frozenset()

    def action_open(self) -> None:
        """Show the alert's details, with links to its sandbox and session."""
        current = self._current()
        if current is None:
            self.notify("No alert selected.", severity="warning")
            return
        self.app.push_screen(AlertDetailScreen(current), callback=self._detail_closed)

    def _detail_closed(self, resolved: bool | None) -> None:
        if resolved:
            self.caged.live.poke()

    def action_resolve(self) -> None:
        """Resolve the marked alerts, or the one under the cursor."""
        if self.marked:
            targets = [a for a in self._source.items if a.id in self.marked]
        else:
            current = self._current()
            targets = [current] if current is not None else []
        targets = [alert for alert in targets if alert.state == AlertState.OPEN]
        if not targets:
            self.notify("No open alert selected.", severity="warning")
            return
        self.resolve([alert.id for alert in targets])

    @work(group="alerts.resolve", exit_on_error=False, description="Resolving alerts")
    async def resolve(self, alert_ids: list[str]) -> None:
        """Resolve each alert, then reload the list and the header's count."""
        for alert_id in alert_ids:
            await self.client.alerts.resolve(alert_id)
        noun = "alert" if len(alert_ids) == 1 else f"{len(alert_ids)} alerts"
        self.notify(f"Resolved {noun}")
        self.marked = self.marked - set(alert_ids)
        self.caged.live.poke()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self.refresh_bindings()
