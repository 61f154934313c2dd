"""Usage and billing: the sums, the hosted flows (checkout, portal, cancel) against the
hosted answers on a mock transport, and the local platform's plain sentence against the
real one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from account_side import go, live_app
from eventually import eventually_async
from fake_hosted import CHECKOUT_URL, PORTAL_URL, HostedAccount
from fake_platform import fake_app
from textual.pilot import Pilot
from textual.widgets import Static

from caged_core.models import AgentSession, Sandbox
from caged_tui.app import CagedApp
from caged_tui.screens.billing.link import LinkDialog
from caged_tui.screens.billing.screen import LOCAL_PLANS, BillingScreen
from caged_tui.screens.billing.usage import compute_minutes, usage_report
from caged_tui.widgets.dialogs import ChoiceDialog, ConfirmDialog

SIZE = (140, 40)


def test_usage_per_day_and_per_sandbox() -> None:
    boxes = [
        Sandbox(id="a", cpus=2, memory_mb=1024, cost=0.025, llm_cost=0.5, total_cost=0.525),
        Sandbox(id="b", cpus=1, memory_mb=512, cost=0.0, total_cost=0.0),
    ]
    at = datetime(2026, 11, 27, 9, tzinfo=UTC)
    sessions = [
        AgentSession(id="1", sandbox_id="a", llm_cost=0.3, compute_cost=0.01, total_cost=0.31,
                     started_at=at),
        AgentSession(id="2", sandbox_id="a", llm_cost=0.2, total_cost=0.2,
                     started_at=at.replace(day=25)),
        AgentSession(id="3", sandbox_id="b", total_cost=9.0, started_at=at.replace(month=10)),
    ]  # fmt: skip
    report = usage_report(boxes, sessions, date(2026, 11, 27), days=3)
    assert report.days == (date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27))
    assert report.daily == (0.2, 0.0, 0.31)  # October's session is outside the charts
    assert [u.sandbox.id for u in report.sandboxes] == ["a", "b"]
    assert report.sandboxes[0].daily == (0.2, 0.0, 0.31)
    # 2 vCPU and 1 GB cost $0.025 an hour: $0.025 is 60 minutes.
    assert compute_minutes(boxes[0]) == pytest.approx(60.0)
    assert (report.total, report.llm, report.minutes) == pytest.approx((0.525, 0.5, 60.0))


async def opened(pilot: Pilot[Any], app: CagedApp) -> BillingScreen:
    await go(pilot, "billing")
    await eventually_async(lambda: isinstance(app.screen, BillingScreen), pause=pilot.pause)
    screen = app.screen
    assert isinstance(screen, BillingScreen)
    await eventually_async(lambda: screen.report is not None, pause=pilot.pause)
    return screen


def hosted_app(hosted: HostedAccount, opened_urls: list[str]) -> CagedApp:
    app = fake_app(hosted.handle, local=False)
    app.open_url = lambda url, **_: opened_urls.append(url)  # type: ignore[method-assign]
    return app


async def test_checkout_opens_the_url_and_shows_it_to_copy() -> None:
    hosted, urls = HostedAccount(), []
    app = hosted_app(hosted, urls)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("u")
        await eventually_async(lambda: isinstance(app.screen, ChoiceDialog), pause=pilot.pause)
        await pilot.press("t")  # team
        dialog = await eventually_async(
            lambda: app.screen if isinstance(app.screen, LinkDialog) else None, pause=pilot.pause
        )
        assert hosted.changes == [("POST", "/billing/checkout", {"plan_id": "team"})]
        assert urls == [f"{CHECKOUT_URL}#team"] and dialog.url == urls[0]
        await pilot.press("c")
        assert app.clipboard == urls[0]


async def test_portal_opens_the_url() -> None:
    hosted, urls = HostedAccount(), []
    app = hosted_app(hosted, urls)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("p")
        await eventually_async(lambda: isinstance(app.screen, LinkDialog), pause=pilot.pause)
        assert hosted.changes == [("POST", "/billing/portal", {})] and urls == [PORTAL_URL]


async def test_cancel_asks_then_cancels_at_period_end() -> None:
    hosted, urls = HostedAccount(), []
    app = hosted_app(hosted, urls)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("c")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("n")
        assert hosted.changes == []
        await pilot.press("c")
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("y")
        plan = screen.query_one("#billing-plan", Static)
        await eventually_async(lambda: "Cancelled" in str(plan.render()), pause=pilot.pause)
        assert hosted.changes == [("POST", "/billing/cancel", None)]


@pytest.mark.integration
async def test_the_local_platform_says_plans_are_hosted(platform: Any) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        plan = str(screen.query_one("#billing-plan", Static).render())
        assert LOCAL_PLANS in plan and "Compute this period:" in plan

        def said() -> bool:
            return [str(n.message) for n in app._notifications].count(LOCAL_PLANS) >= 1

        await pilot.press("u")
        await eventually_async(said, pause=pilot.pause)
        assert isinstance(app.screen, BillingScreen)  # no plan to choose
        # Asked anyway, the platform's 501 is that same sentence, not an error.
        app.clear_notifications()
        screen.open_link("portal", "")
        await eventually_async(said, pause=pilot.pause)
        assert all(n.severity == "information" for n in app._notifications)
