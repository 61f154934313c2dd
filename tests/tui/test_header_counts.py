"""The header's counts are right past the API's first page: the real app against a real
local platform holding 120 open alerts and as many unread notifications."""

from __future__ import annotations

from typing import Any

import pytest
from eventually import eventually_async

from caged_core.client import AsyncCaged
from caged_tui.app import make_app
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
