"""The notifications screen against the real local platform: the inbox, marking read
(one, then all: the header's count follows), and the settings with masked webhooks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from account_side import api, go, live_app
from eventually import eventually_async
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from caged_tui.app import CagedApp
from caged_tui.screens.notifications.screen import NotificationsScreen
from caged_tui.screens.notifications.settings import SettingsPanel
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.notification_table import NotificationTable

pytestmark = pytest.mark.integration

SIZE = (140, 40)


def raise_alert(platform: Any) -> str:
    """An error spike in a session of its own: an alert, hence an in-app notification."""
    session_id = f"notify-{secrets.token_hex(4)}"
    now = datetime.now(UTC).isoformat()
    events = [{"type": "error", "timestamp": now, "session_id": session_id}] * 5
    with api(platform) as client:
        assert client.post("/events/ingest", json={"events": events}).json()["accepted"] == 5
    return session_id


async def opened(pilot: Pilot[Any], app: CagedApp) -> NotificationsScreen:
    await go(pilot, "notifications")
    await eventually_async(lambda: isinstance(app.screen, NotificationsScreen), pause=pilot.pause)
    assert isinstance(app.screen, NotificationsScreen)
    return app.screen


async def test_mark_one_then_all_read(platform: Any) -> None:
    session_id = raise_alert(platform)
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        table = screen.query_one(NotificationTable)

        def ours() -> str | None:
            found = [n for n in screen._source.items if session_id in n.message]
            return found[0].id if found and not found[0].read else None

        notification_id = await eventually_async(ours, pause=pilot.pause, what="the notification")
        unread = await eventually_async(lambda: screen.unread, pause=pilot.pause)
        table.move_to(notification_id)
        await pilot.press("m")
        await eventually_async(lambda: screen.unread == unread - 1, pause=pilot.pause)
        await eventually_async(lambda: app.status.unread == unread - 1, pause=pilot.pause)
        assert screen._source.get(notification_id).read  # type: ignore[union-attr]
        await pilot.press("M")
        await eventually_async(lambda: screen.unread == 0, pause=pilot.pause)
        await eventually_async(lambda: app.status.unread == 0, pause=pilot.pause)
        info = str(screen.query_one("#notifications-info", Static).render())
        assert info.endswith(", 0 unread")


async def test_webhooks_are_masked_replaced_and_removed(platform: Any) -> None:
    secret = f"https://hooks.example/services/{secrets.token_hex(8)}"
    app = live_app(platform)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("2")
        panel = screen.query_one(SettingsPanel)
        await eventually_async(lambda: panel.config is not None, pause=pilot.pause)
        box = panel.query_one("#webhook-slack", Input)
        assert box.password and box.value == ""

        box.value = "hooks.example/no-scheme"
        await pilot.press("ctrl+s")
        error = panel.query_one("#settings-error", Static)
        await eventually_async(lambda: "http(s) URL" in str(error.render()), pause=pilot.pause)

        box.value = secret
        await pilot.press("ctrl+s")

        def stored() -> bool:
            config = panel.config
            assert config is not None and config.slack_webhook_configured
            assert box.value == "" and box.placeholder.startswith(f"stored: ...{secret[-4:]}")
            return True

        await eventually_async(stored, pause=pilot.pause, what="the webhook stored")
        with api(platform) as client:
            config = client.get("/notifications/config").json()
        assert config["slack_webhook_configured"] and secret not in str(config)

        remove = panel.query_one("#remove-slack", Button)
        assert not remove.disabled
        remove.press()
        await eventually_async(lambda: isinstance(app.screen, ConfirmDialog), pause=pilot.pause)
        await pilot.press("y")

        def removed() -> bool:
            with api(platform) as client:
                config = client.get("/notifications/config").json()
            assert not config["slack_webhook_configured"]
            assert panel.config is not None and not panel.config.slack_webhook_configured
            assert box.placeholder.startswith("not set") and remove.disabled
            return True

        await eventually_async(removed, pause=pilot.pause, what="the webhook removed")
