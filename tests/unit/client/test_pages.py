"""Walking every page of a paged list (hosted response shapes, behind a fake transport)."""

from __future__ import annotations

from typing import Any

import httpx
from client_fakes import FakeAPI
from test_resources import ALERT

from caged_core import AsyncCaged
from caged_tui.live import COUNTS

TOTAL = 120


def _alerts(request: httpx.Request) -> httpx.Response:
    """120 alerts, every third resolved, served ``limit`` at a time from ``offset``."""
    limit = int(request.url.params.get("limit", 50))
    offset = int(request.url.params.get("offset", 0))
    alerts = [
        {**ALERT, "id": f"alert-{i}", "state": "resolved" if i % 3 == 0 else "open"}
        for i in range(offset, min(offset + limit, TOTAL))
    ]
    return httpx.Response(
        200, json={"alerts": alerts, "total": TOTAL, "limit": limit, "offset": offset}
    )


async def test_iter_all_walks_every_alert_across_pages(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    ids = [alert.id async for alert in client.alerts.iter_all(per_page=50)]
    assert ids == [f"alert-{i}" for i in range(TOTAL)]
    assert [r.url.params["offset"] for r in api.requests] == ["0", "50", "100"]


async def test_the_open_alert_count_is_right_past_the_first_page(
    api: FakeAPI, client: AsyncCaged
) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    api.route("GET", "/v1/notifications/unread-count", {"unread_count": 3})
    fetched: Any = await COUNTS.fetch(client, None)
    assert fetched.value.open_alerts == TOTAL - len(range(0, TOTAL, 3))
    assert fetched.value.unread == 3


def _sessions(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params.get("page", 1))
    per_page = int(request.url.params.get("per_page", 20))
    start = (page - 1) * per_page
    data = [
        {"id": f"sess-{i}", "sandbox_id": "s", "status": "completed"}
        for i in range(start, min(start + per_page, 45))
    ]
    pages = -(-45 // per_page)
    return httpx.Response(200, json={
        "data": data,
        "pagination": {"page": page, "per_page": per_page, "total": 45, "total_pages": pages},
    })


async def test_iter_all_walks_every_session(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sessions", _sessions)
    ids = [session.id async for session in client.sessions.iter_all(per_page=20)]
    assert ids == [f"sess-{i}" for i in range(45)]
