"""The client's pages against the real local platform: 120 alerts (each with its own session
and unread in-app notification) walked page by page, async and sync."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from caged_core import AsyncCaged, Caged
from caged_core.models import AlertState

if TYPE_CHECKING:
    from tests.integration.conftest import RunningPlatform

pytestmark = pytest.mark.integration

FLOOD = 120


async def test_alerts_walk_past_the_first_page(alert_flood: RunningPlatform) -> None:
    async with AsyncCaged(api_key=alert_flood.api_key, base_url=alert_flood.url) as caged:
        first = await caged.alerts.list()  # the platform's default page: 50
        assert first.total == FLOOD and len(first) == 50 and first.has_next_page()
        walked = [alert async for alert in caged.alerts.list(limit=35)]
        assert len({a.id for a in walked}) == FLOOD
        assert all(a.state == AlertState.OPEN for a in walked)
        pages = [len(page) async for page in (await caged.alerts.list(limit=35)).iter_pages()]
        assert pages == [35, 35, 35, 15]
        # The pages put together are the one big page, in its order (newest first).
        whole = await caged.alerts.list(limit=500)
        assert not whole.has_next_page() and [a.id for a in walked] == [a.id for a in whole]


async def test_sessions_and_replay_walk_every_page(alert_flood: RunningPlatform) -> None:
    async with AsyncCaged(api_key=alert_flood.api_key, base_url=alert_flood.url) as caged:
        sessions = [s.id async for s in caged.sessions.list(per_page=25)]
        assert len(sessions) == len(set(sessions)) == FLOOD
        assert sessions == [s.id for s in await caged.sessions.list(per_page=100)] + [
            s.id for s in await caged.sessions.list(per_page=100, page=2)
        ]
        page = await caged.sessions.list(per_page=25, page=5)
        assert page.total == FLOOD and len(page) == 20 and not page.has_next_page()
        events = [e.sequence async for e in caged.sessions.replay("flood-007", limit=2)]
        assert events == sorted(events) and len(events) == len(set(events)) >= 5


def test_the_sync_client_walks_the_same_pages(alert_flood: RunningPlatform) -> None:
    with Caged(api_key=alert_flood.api_key, base_url=alert_flood.url) as caged:
        page = caged.alerts.list(limit=50)
        assert len(page) == 50 and page.total == FLOOD
        assert len({a.id for a in page}) == FLOOD  # for: every page
        assert caged.notifications.unread_count() == FLOOD
        # Notifications come in one page of up to ``limit`` (the API pages them no further).
        assert len(caged.notifications.list(limit=500)) == FLOOD
