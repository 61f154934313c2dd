"""The alerts screen, the toasts and the rules against the real local platform.

A budget crossing raises a toast on whatever screen is in front and shows in the
list; ``R`` resolves it and the header's count drops; a rule saved in the Rules tab
is what the API answers; 120 open alerts are all listed and counted.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from account_side import api, budgeted, go, header, live_app, raise_error_spike, spend  # noqa: F401 - a fixture
from eventually import eventually, eventually_async
from fake_hosted import HostedAccount
from fake_platform import fake_app
from textual.widgets import Input, Static

from caged_core.client import AsyncCaged
from caged_tui.alert_watch import RECENT_ALERTS
from caged_tui.app import make_app
from caged_tui.screens.alerts.detail import AlertDetailScreen, Seekable
from caged_tui.screens.alerts.rules import RulesPanel, RulesTable
from caged_tui.screens.alerts.screen import AlertsScreen
from caged_tui.screens.detail.screen import SandboxDetailScreen
from caged_tui.screens.notifications.screen import NotificationsScreen
from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.settings import Settings
from caged_tui.widgets.alert_table import AlertTable
from caged_tui.widgets.header import CagedHeader

pytestmark = pytest.mark.integration

SIZE = (140, 40)
FLOOD = 120  # the alert_flood fixture's count


async def test_a_budget_alert_toasts_on_another_screen_and_resolves(
    platform: Any,
    budgeted: str,  # noqa: F811 - the fixture
) -> None:
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await eventually_async(
            lambda: app.status.open_alerts is not None, pause=pilot.pause, what="the header"
        )
        assert isinstance(app.screen, SandboxesScreen)
        spend(platform, budgeted, 0.85)  # 85 % of the budget: a warning

        def toasted() -> bool:
            return any(budgeted in str(n.message) for n in app._notifications)

        await eventually_async(toasted, pause=pilot.pause, what="the budget toast")
        await eventually_async(lambda: app.status.open_alerts, pause=pilot.pause)
        before = app.status.open_alerts
        assert before is not None and header(app, "alerts") == f"⚠ {before}"

        await go(pilot, "alerts")
        await eventually_async(lambda: isinstance(app.screen, AlertsScreen), pause=pilot.pause)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        table = screen.query_one(AlertTable)

        def listed() -> str:
            ours = [a for a in screen._source.items if a.sandbox_id == budgeted]
            assert ours and ours[0].rule_type == "budget_exceeded"
            return ours[0].id

        alert_id = await eventually_async(listed, pause=pilot.pause, what="the alert listed")
        table.move_to(alert_id)
        await pilot.press("enter")
        await eventually_async(lambda: isinstance(app.screen, AlertDetailScreen), pause=pilot.pause)
        await pilot.press("o")  # the sandbox, then back
        await eventually_async(
            lambda: isinstance(app.screen, SandboxDetailScreen), pause=pilot.pause
        )
        await pilot.press("escape")
        await eventually_async(lambda: app.screen is screen, pause=pilot.pause)
        table.move_to(alert_id)
        await pilot.press("R")

        def resolved() -> bool:
            alert = screen._source.get(alert_id)
            assert alert is not None and alert.state == "resolved"
            assert app.status.open_alerts == before - 1
            assert header(app, "alerts") == f"⚠ {before - 1}"
            return True

        await eventually_async(resolved, pause=pilot.pause, what="the alert resolved")


async def test_a_rule_saved_in_the_rules_tab_is_what_the_api_answers(platform: Any) -> None:
    with api(platform) as client:
        rule = next(r for r in client.get("/alerts/rules").json() if r["type"] == "agent_stuck")
    app = live_app(platform)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await go(pilot, "alerts")
            await eventually_async(lambda: isinstance(app.screen, AlertsScreen), pause=pilot.pause)
            await pilot.press("2")
            panel = app.screen.query_one(RulesPanel)
            rules = panel.query_one(RulesTable)
            await eventually_async(lambda: rules.row_count == 5, pause=pilot.pause)
            rules.move_to(rule["id"])
            field = panel.query_one("#rule-idle_minutes", Input)
            row = panel.query_one("#row-idle_minutes")
            await eventually_async(lambda: row.display and field.value == "10", pause=pilot.pause)

            field.value = "ten"  # refused here, never sent
            await pilot.press("ctrl+s")
            error = panel.query_one("#rules-error", Static)
            await eventually_async(
                lambda: "'ten' is not a number" in str(error.render()), pause=pilot.pause
            )
            field.value = "42"
            await pilot.press("ctrl+s")

            def saved() -> bool:
                with api(platform) as client:
                    rules = client.get("/alerts/rules").json()
                [stuck] = [r for r in rules if r["id"] == rule["id"]]
                assert stuck["config"]["idle_minutes"] == 42
                return True

            await eventually_async(saved, pause=pilot.pause, what="the rule saved")
    finally:
        with api(platform) as client:
            client.put(f"/alerts/rules/{rule['id']}", json={"config": rule["config"]})


async def test_120_open_alerts_are_all_listed_and_counted(alert_flood: Any) -> None:
    app = live_app(alert_flood)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "alerts")
        await eventually_async(lambda: isinstance(app.screen, AlertsScreen), pause=pilot.pause)
        table = app.screen.query_one(AlertTable)

        def all_listed() -> bool:
            assert table.row_count == FLOOD
            info = str(app.screen.query_one("#alerts-info", Static).render())
            assert info.startswith(f"{FLOOD} alerts, {FLOOD} open")
            assert header(app, "alerts") == f"⚠ {FLOOD}"
            return True

        await eventually_async(all_listed, pause=pilot.pause, what="every alert")
        await pilot.press("G")  # the last of them is reachable
        assert table.cursor_row == FLOOD - 1


async def test_a_new_alert_toasts_while_the_feed_idles() -> None:
    """The feed of this app waits an hour between rounds: only the recent-alerts topic's
    max_wait can bring the toast."""
    hosted = HostedAccount()
    app = fake_app(hosted.handle, local=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await eventually_async(lambda: app.status.open_alerts == 4, pause=pilot.pause)
        assert app.live.delay >= 3600 - 1
        fresh = copy.deepcopy(hosted.alerts[0])
        fresh.update(
            id="alert-0007", title="Budget exhausted — sandbox stopped", sandbox_id="cage-x"
        )
        hosted.alerts.insert(0, fresh)

        def toasted() -> bool:
            return any("cage-x" in str(n.message) for n in app._notifications)

        await eventually_async(toasted, pause=pilot.pause, what="the toast")
        [toast] = [n for n in app._notifications if "cage-x" in str(n.message)]
        assert toast.severity == "error" and toast.timeout >= 3600  # critical: it stays
        await eventually_async(lambda: app.status.open_alerts == 5, pause=pilot.pause)


async def test_a_new_alert_toasts_through_the_held_request(
    platform_runner: Any, tmp_path: Path
) -> None:
    """On the local platform the recent alerts are long-polled: with rounds an hour apart
    and max_wait set aside while a request is held, only the held request returning the
    moment the alert is raised can bring the toast."""
    with platform_runner(tmp_path) as own:
        client = AsyncCaged(api_key=own.api_key, base_url=own.url)
        app = make_app(client, Settings(base_url=own.url, local=True, refresh_seconds=3600))
        async with app.run_test(size=SIZE, notifications=True) as pilot:

            def held() -> bool:
                topic = app.live._topics.get(RECENT_ALERTS.name)
                return topic is not None and topic.holding

            await eventually_async(held, pause=pilot.pause, what="the held alerts request")
            raise_error_spike(own, "held-toast")

            def toasted() -> bool:
                return any("held-toast" in str(n.message) for n in app._notifications)

            await eventually_async(toasted, pause=pilot.pause, what="the toast")
            assert app.live.delay >= 3600 - 1  # no round brought it
        await client.aclose()


async def test_the_header_counts_are_shortcuts() -> None:
    app = fake_app(HostedAccount().handle, local=False)
    async with app.run_test(size=SIZE) as pilot:
        await eventually_async(lambda: app.status.open_alerts == 4, pause=pilot.pause)
        header_bar = app.screen.query_one(CagedHeader)
        await pilot.click(CagedHeader, offset=header_bar.badge_offset("alerts"))
        await eventually_async(lambda: isinstance(app.screen, AlertsScreen), pause=pilot.pause)
        header_bar = app.screen.query_one(CagedHeader)
        await pilot.click(CagedHeader, offset=header_bar.badge_offset("unread"))
        await eventually_async(
            lambda: isinstance(app.screen, NotificationsScreen), pause=pilot.pause
        )


async def test_the_session_link_opens_the_replay_at_the_triggering_event(
    platform: Any,
    budgeted: str,  # noqa: F811 - the fixture
) -> None:
    spend(platform, budgeted, 0.50)
    spend(platform, budgeted, 0.35)  # 85 %: this one raised the warning
    with api(platform) as client:

        def alert_id() -> str | None:
            alerts = client.get("/alerts", params={"limit": 100}).json()["alerts"]
            ours = [a["id"] for a in alerts if a["sandbox_id"] == budgeted]
            return ours[0] if ours else None

        raised = eventually(alert_id, what="the budget alert")
        spend(platform, budgeted, 0.01)  # later spending is not what raised it
        session = f"agent-{budgeted}"
        events = client.get(f"/sessions/{session}/replay").json()["events"]
        [trigger] = [e["sequence"] for e in events if e["data"].get("cost_usd") == 0.35]
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        await go(pilot, "alerts")
        await eventually_async(lambda: isinstance(app.screen, AlertsScreen), pause=pilot.pause)
        screen = app.screen
        table = screen.query_one(AlertTable)
        await eventually_async(lambda: table.row(raised), pause=pilot.pause)
        table.move_to(raised)
        await pilot.press("enter")
        detail = await eventually_async(
            lambda: app.screen if isinstance(app.screen, AlertDetailScreen) else None,
            pause=pilot.pause,
        )
        await eventually_async(lambda: detail.session_id == session, pause=pilot.pause)
        await pilot.press("e")
        replay = await eventually_async(
            lambda: app.screen if isinstance(app.screen, Seekable) else None, pause=pilot.pause
        )
        await eventually_async(lambda: replay.playhead == trigger, pause=pilot.pause)
