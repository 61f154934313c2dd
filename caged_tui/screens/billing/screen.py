"""The usage and billing screen (``:billing``).

The plan (tier, status, period end, cancel at period end) above the usage: compute
minutes and costs as totals, a bar chart of the cost per day and, per sandbox, its
costs with a sparkline of its days (:mod:`.usage` says what each number is). ``u``
upgrades (pro or team) and ``p`` opens the customer portal: both open the returned
Stripe URL in the browser and show it to copy; ``c`` cancels at the end of the
period, after a confirmation.

The bar chart is textual-plotext's: textual-plot draws the same bars as deterministically
in the snapshots (compared on this data), but brings numpy — 124 ms to import after Textual
against plotext's 22 ms.

The local platform has no plans: its subscription's tier is ``local`` and its
checkout, portal and cancel answer 501. The screen says so as a plain sentence —
that is how things are, not an error — and still shows the (real) usage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from caged_core.client import AsyncCaged
from caged_core.errors import CagedAPIError
from caged_core.models import AgentSession, Sandbox, Subscription, Usage
from caged_tui import formatting as fmt
from caged_tui.gauges import sparkline
from caged_tui.live import SANDBOXES, Fetched, TopicSpec
from caged_tui.safe_text import printable
from caged_tui.screens.base import CagedScreen
from caged_tui.screens.billing.link import LinkDialog
from caged_tui.screens.billing.usage import DAYS, SandboxUsage, UsageReport, usage_report
from caged_tui.widgets.dialogs import Choice, ChoiceDialog, ConfirmDialog
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

#: What the screen says where the hosted platform would show plans and payment.
LOCAL_PLANS = (
    "Plans and payment belong to the hosted Caged platform (api.caged.dev); this local "
    "platform has none, so there is nothing to upgrade or cancel here. The usage below is real."
)
#: The plans ``u`` offers (the contract's plan_id values).
PLANS = (
    Choice("pro", "Pro $29/month", "p", "primary"),
    Choice("team", "Team $99/month", "t", "primary"),
)

#: The slowest this screen's data is fetched, in seconds (a poke fetches it at once).
PACE = 30.0

COLUMNS = (
    Column("sandbox", "SANDBOX", 13),
    Column("status", "STATUS", 7),
    Column("minutes", "COMPUTE MIN", 11),
    Column("compute", "COMPUTE", 8),
    Column("llm", "LLM", 8),
    Column("total", "TOTAL", 8),
    Column("days", f"LAST {DAYS} DAYS", DAYS),
)


def usage_cells(usage: SandboxUsage, now: datetime) -> tuple[Cell, ...]:
    """A sandbox's usage row."""
    sb = usage.sandbox
    return (
        (printable(sb.id), ""),
        (sb.status.value, ""),
        (f"{usage.minutes:,.1f}", ""),
        (fmt.money(sb.cost), ""),
        (fmt.money(sb.llm_cost), ""),
        (fmt.money(sb.total_cost), "usage-table--total"),
        (sparkline(usage.daily), "usage-table--spark"),
    )


class UsageTable(VirtualTable):
    """Usage per sandbox, each with a sparkline of its days."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "usage-table--total",
        "usage-table--spark",
    }
    DEFAULT_CSS = """
    UsageTable > .usage-table--total { text-style: bold; }
    UsageTable > .usage-table--spark { color: $accent; }
    """


@dataclass(frozen=True, slots=True)
class Billing:
    """The plan and the account's usage counters, and the sessions of the charted days."""

    subscription: Subscription
    usage: Usage
    sessions: tuple[AgentSession, ...]

    @property
    def local(self) -> bool:
        """Whether this is the local platform (it has no plans)."""
        return self.subscription.tier == "local"


def plan_text(subscription: Subscription, usage: Usage) -> str:
    """The plan in a few lines."""
    if subscription.tier == "local":
        lines = ["Plan: local platform", LOCAL_PLANS]
    else:
        period = fmt.timestamp(subscription.current_period_end)
        lines = [
            f"Plan: {printable(subscription.tier)} · status {printable(subscription.status)}"
            f" · period ends {period}",
        ]
        if subscription.cancel_at_period_end:
            lines.append("Cancelled: the plan ends with this period (the free plan follows).")
        if subscription.trial_ends_at is not None:
            lines.append(f"Trial ends {fmt.timestamp(subscription.trial_ends_at)}.")
        lines.append("u upgrade · p payment and invoices (portal) · c cancel at period end")
    lines.append(
        f"Compute this period: {usage.compute_minutes:,.1f} minutes"
        f" ({usage.reported_minutes:,.1f} reported, {usage.pending_seconds:,.0f} s pending)"
    )
    return "\n".join(lines)


class BillingScreen(CagedScreen[None]):
    """Plan, usage and charts (see the module docstring)."""

    SCREEN_TITLE = "Usage and billing"
    CSS_PATH = "billing.tcss"
    AUTO_FOCUS = "#usage-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "upgrade", "Upgrade", id="billing.upgrade"),
        Binding("p", "portal", "Portal", id="billing.portal"),
        Binding("c", "cancel", "Cancel plan", id="billing.cancel"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="billing.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._source: ListSource[SandboxUsage] = ListSource(
            lambda usage: usage.sandbox.id, usage_cells, self.now()
        )
        self.billing: Billing | None = None
        self._sandboxes: list[Sandbox] | None = None
        self.report: UsageReport | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="billing-body"):
            yield Static("Loading the plan…", id="billing-plan")
            with Horizontal(id="billing-charts"):
                yield PlotextPlot(id="billing-daily")
                yield Static(id="billing-totals")
            yield UsageTable(COLUMNS, self._source, id="usage-table")

    def on_mount(self) -> None:
        super().on_mount()
        # The plan and the days' costs move slowly (and walk two weeks of sessions).
        spec = TopicSpec("billing", self._fetch, min_interval=PACE)
        self.caged.live.subscribe(self, spec, self._billed)
        self.caged.live.subscribe(self, SANDBOXES, self._sandboxes_loaded)

    def on_screen_resume(self) -> None:
        # Back in front: the data paced while away is fetched now, not at the next pace.
        self.caged.live.poke()

    async def _fetch(self, client: AsyncCaged, etag: str | None) -> Fetched[Billing]:
        if not self.is_current and self.billing is not None:
            return Fetched(None)
        since = self.now() - timedelta(days=DAYS)
        sessions = []
        # Newest first: the walk stops at the first session older than the charts.
        async for session in client.sessions.list(per_page=100):
            if session.started_at is not None and session.started_at < since:
                break
            sessions.append(session)
        return Fetched(
            Billing(
                await client.billing.get_subscription(),
                await client.billing.get_usage(),
                tuple(sessions),
            )
        )

    def _billed(self, billing: Billing) -> None:
        self.billing = billing
        self.query_one("#billing-plan", Static).update(
            plan_text(billing.subscription, billing.usage)
        )
        self.set_class(billing.local, "-local")
        self._report()

    def _sandboxes_loaded(self, sandboxes: list[Sandbox]) -> None:
        self._sandboxes = sandboxes
        self._report()

    def _report(self) -> None:
        if self.billing is None or self._sandboxes is None:
            return
        now = self.now()
        report = usage_report(self._sandboxes, self.billing.sessions, now.date())
        self.report = report
        self.query_one(UsageTable).source_changed(self._source.update(report.sandboxes))
        self.query_one("#billing-totals", Static).update(
            f"Totals\n\ncompute  {report.minutes:,.1f} min\ncompute  {fmt.money(report.compute)}"
            f"\nLLM      {fmt.money(report.llm)}\ntotal    {fmt.money(report.total)}"
            f"\n\n{len(report.sandboxes)} sandboxes"
        )
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        labels = [day.strftime("%m-%d") for day in report.days]
        plt.bar(labels, [round(cost, 4) for cost in report.daily], marker="hd")
        plt.title(f"Session cost per day, USD (last {DAYS} days)")
        plot.refresh()

    # ------------------------------------------------------------------ actions

    def action_refresh(self) -> None:
        """Reload now."""
        self.caged.live.poke()

    def _hosted(self) -> bool:
        if self.billing is not None and self.billing.local:
            self.notify(LOCAL_PLANS, title="Local platform")
            return False
        return True

    def action_upgrade(self) -> None:
        """Choose a plan and open Stripe Checkout for it."""
        if not self._hosted():
            return

        def chosen(plan: str | None) -> None:
            if plan:
                self.open_link("checkout", plan)

        self.app.push_screen(
            ChoiceDialog("Upgrade", "Which plan? Checkout opens in your browser.", PLANS),
            callback=chosen,
        )

    def action_portal(self) -> None:
        """Open the Stripe customer portal (payment methods, invoices)."""
        if self._hosted():
            self.open_link("portal", "")

    @work(group="billing.link", exclusive=True, exit_on_error=False, description="Billing")
    async def open_link(self, kind: str, plan: str) -> None:
        """Ask for the checkout or portal URL; open it and show it to copy."""
        try:
            if kind == "checkout":
                url = await self.client.billing.create_checkout(plan)
            else:
                url = await self.client.billing.create_portal()
        except CagedAPIError as error:
            if error.status != 501:
                raise
            self.notify(LOCAL_PLANS, title="Local platform")
            return
        self.app.open_url(url)
        title = f"Checkout for {plan}" if kind == "checkout" else "Customer portal"
        await self.app.push_screen(LinkDialog(title, url))

    def action_cancel(self) -> None:
        """Cancel the plan at the end of its period, after a confirmation."""
        if not self._hosted() or self.billing is None:
            return
        end = fmt.timestamp(self.billing.subscription.current_period_end)

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.cancel_plan()

        self.app.push_screen(
            ConfirmDialog(
                "Cancel the plan?",
                f"It stays active until the period ends ({end}); then the account moves to"
                " the free plan (2 sandboxes at once, 10 compute hours a month).",
                confirm_label="Cancel plan",
            ),
            callback=confirmed,
        )

    @work(group="billing.cancel", exclusive=True, exit_on_error=False, description="Cancel")
    async def cancel_plan(self) -> None:
        """``POST /billing/cancel``, then reload the plan."""
        try:
            await self.client.billing.cancel()
        except CagedAPIError as error:
            if error.status != 501:
                raise
            self.notify(LOCAL_PLANS, title="Local platform")
            return
        self.notify("The plan ends with this period.")
        self.caged.live.poke()
