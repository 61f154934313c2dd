"""The header's counts against the real local platform: right past the API's first page
(120 open alerts and as many unread notifications), and held while nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from account_side import raise_error_spike
from eventually import eventually_async

from caged_core.client import AsyncCaged
from caged_tui.app import make_app
from caged_tui.live import OPEN_ALERTS, UNREAD
from caged_tui.settings import Settings
from caged_tui.widgets.header import CagedHeader

pytestmark = pytest.mark.integration

FLOOD = 120  # the alert_flood fixture's count


async def test_the_header_counts_all_120_alerts_and_notifications(alert_flood: Any) -> None:
    client = AsyncCaged(api_key=alert_flood.api_key, base_url=alert_flood.url)
    app = make_app(client, Settings(base_url=alert_flood.url, local=True, refresh_seconds=1.0))
    async with app.run_test(size=(120, 36)):

        def count(badge: str) -> str:
            """The number a header badge shows (after its glyph)."""
            return app.screen.query_one(CagedHeader).badge(badge).split()[-1]

        def counted() -> bool:
            assert count("alerts") == str(FLOOD)
            assert count("unread") == str(FLOOD)
            return True

        await eventually_async(counted, what="the header's counts")


async def test_the_counts_are_held_and_follow_a_new_alert_at_once(
    platform_runner: Any, tmp_path: Path
) -> None:
    """Idle cost (issue 12): the counts were two requests every round; now each is a held
    conditional GET, which brings a new alert's badge and its notification's, and is held
    again after. (That rounds leave held topics alone is tested without a platform in
    test_live_longpoll.py: on a loaded box a hold may end and hand its topic back to the
    rounds, as designed, so this test does not count the rounds' requests.)"""
    with platform_runner(tmp_path) as own:
        client = AsyncCaged(api_key=own.api_key, base_url=own.url)
        app = make_app(client, Settings(base_url=own.url, local=True, refresh_seconds=1.0))
        async with app.run_test(size=(120, 36)) as pilot:

            def held() -> bool:
                topics = [app.live._topics.get(spec.name) for spec in (UNREAD, OPEN_ALERTS)]
                return all(topic is not None and topic.holding for topic in topics)

            await eventually_async(held, pause=pilot.pause, what="the held count requests")
            assert (app.status.unread, app.status.open_alerts) == (0, 0)
            raise_error_spike(own, "held-count")
            await eventually_async(
                lambda: (app.status.unread, app.status.open_alerts) == (1, 1),
                pause=pilot.pause,
                what="both badges at 1",
            )
            await eventually_async(held, pause=pilot.pause, what="the holds back")
        await client.aclose()
