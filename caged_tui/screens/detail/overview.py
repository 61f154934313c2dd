"""The overview panel: every field of the sandbox, as a two-column grid."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from caged_core.models import Sandbox
from caged_tui import formatting as fmt
from caged_tui.gauges import BudgetLevel, budget_bar, budget_level
from caged_tui.screens.detail.panel import DetailPanel, Gone, subscribe_to_sandbox
from caged_tui.widgets.sandbox_table import stopped_by_budget


def budget(sb: Sandbox, colours: Mapping[BudgetLevel, str]) -> Text:
    """Spend against the budget: the amount, a bar in its band's colour, and a word when
    the budget guard stopped the sandbox."""
    if sb.budget is None:
        return Text(fmt.DASH)
    level = budget_level(sb.total_cost, sb.budget)
    text = Text(f"{fmt.money(sb.total_cost)} of {fmt.money(sb.budget)}  ")
    text.append(budget_bar(sb.total_cost, sb.budget, width=20), style=colours.get(level, ""))
    if stopped_by_budget(sb):
        text.append("  — stopped by the budget guard", style=f"bold {colours.get(level, '')}")
    return text


def overview(sb: Sandbox, now: datetime, colours: Mapping[BudgetLevel, str] | None = None) -> Table:
    """The grid of a sandbox's fields at ``now`` (``colours``: the budget bands')."""
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
        if name == "cost":
            grid.add_row("budget", budget(sb, colours or {}))
    if config and config.raw:
        grid.add_row("config", Text(config.raw))
    return grid


class OverviewPanel(DetailPanel):
    """The sandbox's fields, repainted when the live feed reports a change."""

    PANEL_ID = "overview"
    TITLE = "Overview"
    FOCUS = "#overview-scroll"

    @dataclass
    class Loaded(Message):
        """The sandbox's current state."""

        sandbox: Sandbox

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="overview-scroll"):
            yield Static(id="overview-body")

    def on_mount(self) -> None:
        subscribe_to_sandbox(self.caged.live, self, self.sandbox_id, self._fetched)

    def _fetched(self, value: Sandbox | Gone) -> None:
        if not isinstance(value, Gone):
            self.post_message(self.Loaded(value))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        theme = self.app.current_theme
        colours = {
            BudgetLevel.OK: theme.success or "",
            BudgetLevel.WARNING: theme.warning or "",
            BudgetLevel.CRITICAL: theme.error or "",
            BudgetLevel.EXHAUSTED: theme.error or "",
        }
        body = overview(event.sandbox, self.caged.now(), colours)
        self.query_one("#overview-body", Static).update(body)
