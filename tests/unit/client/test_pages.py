"""Pages of every list call: ``await`` gives one page, ``async for`` (sync: ``for``) walks
every item across pages, for each of the contract's paging shapes (hosted response shapes
behind a fake transport)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from client_fakes import SECRET, FakeAPI
from test_resources import ALERT, SANDBOX, replay_event

from caged_core import AsyncCaged, Caged
from caged_core.client import AsyncPage, AsyncPaginator, Page, RetryPolicy
from caged_tui.live import OPEN_ALERTS, UNREAD

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


def _offsets(api: FakeAPI) -> list[str | None]:
    return [r.url.params.get("offset") for r in api.requests]


async def test_awaiting_a_list_gives_one_page(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    paginator = client.alerts.list(limit=50)
    assert isinstance(paginator, AsyncPaginator) and api.requests == []  # nothing sent yet
    page = await paginator
    assert isinstance(page, AsyncPage) and page.total == TOTAL
    assert len(page) == 50 and page[0].id == "alert-0" and page[-1].id == "alert-49"
    assert [a.id for a in page] == [f"alert-{i}" for i in range(50)]  # for: this page
    assert page.has_next_page() and _offsets(api) == [None]
    second = await page.next_page()
    assert second[0].id == "alert-50" and _offsets(api) == [None, "50"]


async def test_async_for_walks_every_alert_across_pages(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    ids = [alert.id async for alert in client.alerts.list(limit=50)]
    assert ids == [f"alert-{i}" for i in range(TOTAL)]
    assert _offsets(api) == [None, "50", "100"]


async def test_async_for_over_a_page_walks_on_from_it(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    page = await client.alerts.list(limit=50, offset=60)
    assert [a.id async for a in page] == [f"alert-{i}" for i in range(60, TOTAL)]
    pages = [p async for p in (await client.alerts.list(limit=50)).iter_pages()]
    assert [len(p) for p in pages] == [50, 50, 20]
    assert not pages[-1].has_next_page()
    with pytest.raises(LookupError, match="last page"):
        await pages[-1].next_page()


async def test_an_uncounted_list_walks_while_pages_are_full(
    api: FakeAPI, client: AsyncCaged
) -> None:
    # A server that sends no total and echoes no offset: full pages mean "maybe more",
    # and the offset the client asked for (not the echo) moves the walk on.
    def uncounted(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        alerts = [{**ALERT, "id": f"alert-{i}"} for i in range(offset, min(offset + 10, 25))]
        return httpx.Response(200, json={"alerts": alerts})

    api.route("GET", "/v1/alerts", uncounted)
    ids = [a.id async for a in client.alerts.list(limit=10)]
    assert ids == [f"alert-{i}" for i in range(25)] and _offsets(api) == [None, "10", "20"]


async def test_a_legacy_array_is_one_page(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", [ALERT, ALERT])
    assert len([a async for a in client.alerts.list()]) == 2 and len(api.requests) == 1


def _sessions(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params.get("page", 1))
    per_page = int(request.url.params.get("per_page", 20))
    start = (page - 1) * per_page
    data = [
        {"id": f"sess-{i}", "sandbox_id": "s", "status": "completed"}
        for i in range(start, min(start + per_page, 45))
    ]
    pages = -(-45 // per_page)
    return httpx.Response(
        200,
        json={
            "data": data,
            "pagination": {"page": page, "per_page": per_page, "total": 45, "total_pages": pages},
        },
    )


async def test_async_for_walks_every_session_by_page_number(
    api: FakeAPI, client: AsyncCaged
) -> None:
    api.route("GET", "/v1/sessions", _sessions)
    ids = [session.id async for session in client.sessions.list(per_page=20)]
    assert ids == [f"sess-{i}" for i in range(45)]
    assert [r.url.params.get("page") for r in api.requests] == [None, "2", "3"]
    assert (await client.sessions.list(per_page=20)).total == 45


async def test_replay_follows_next_seq(api: FakeAPI, client: AsyncCaged) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after_seq", "0"))
        events = [replay_event(s) for s in range(after + 1, min(after + 2, 5) + 1)]
        return httpx.Response(
            200,
            json={
                "events": events,
                "has_more": after + 2 < 5,
                "next_seq": events[-1]["sequence"],
                "total": 5,
            },
        )

    api.route("GET", "/v1/sessions/sess-1/replay", pages)
    seqs = [e.sequence async for e in client.sessions.replay("sess-1", limit=2)]
    assert seqs == [1, 2, 3, 4, 5]
    assert [r.url.params.get("after_seq") for r in api.requests] == [None, "2", "4"]
    assert all(r.url.params["limit"] == "2" for r in api.requests)


async def test_replay_stops_on_a_stuck_cursor(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/sessions/sess-1/replay",
        {"events": [replay_event(1)], "has_more": True, "next_seq": 1},
    )
    events = [e async for e in client.sessions.replay("sess-1", after_seq=1)]
    assert len(events) == 1 and len(api.requests) == 1


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/v1/sandboxes", lambda c: c.sandboxes.list()),
        ("/v1/sandboxes/cage-1/logs", lambda c: c.sandboxes.logs("cage-1")),
        ("/v1/sandboxes/cage-1/ports", lambda c: c.sandboxes.ports("cage-1")),
        ("/v1/trust/sandboxes/cage-1", lambda c: c.sandboxes.trust_scores("cage-1")),
        (
            "/v1/sandboxes/cage-1/terminal/sessions",
            lambda c: c.sandboxes.terminal_sessions("cage-1"),
        ),
        ("/v1/sandboxes/cage-1/files", lambda c: c.files.list("cage-1")),
        ("/v1/sandboxes/cage-1/snapshots", lambda c: c.snapshots.list("cage-1")),
        ("/v1/sandboxes/cage-1/sessions", lambda c: c.sessions.list_by_sandbox("cage-1")),
        ("/v1/alerts/rules", lambda c: c.alerts.list_rules()),
        ("/v1/account/keys", lambda c: c.account.list_keys()),
        ("/v1/account/sessions", lambda c: c.account.list_sessions()),
        ("/v1/notifications", lambda c: c.notifications.list()),
    ],
)
async def test_every_other_list_is_one_page(
    api: FakeAPI, client: AsyncCaged, path: str, call: Any
) -> None:
    # Fields every item model accepts (the models ignore the rest).
    item = {**SANDBOX, "sandbox_id": "cage-1", "session_id": "s", "name": "n", "path": "/p",
            "port": 3000, "type": "budget_exceeded", "message": "m"}  # fmt: skip
    body: Any = [item, {**item, "id": "second"}]
    if path == "/v1/notifications":
        body = {"notifications": body, "unread_count": 2}
    api.route("GET", path, body)
    page = await call(client)
    assert isinstance(page, AsyncPage) and len(page) == 2 and not page.has_next_page()
    assert page == await call(client)  # equal by content, as the live feed compares values
    assert [x async for x in call(client)] == page.items
    assert len(api.requests) == 3


def test_the_sync_twin_walks_every_page_with_for(api: FakeAPI) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    transport = httpx.MockTransport(api)
    with Caged(
        api_key=SECRET,
        base_url="https://api.test",
        retry=RetryPolicy(sleep=api.sleep),
        transport=transport,
    ) as caged:
        page = caged.alerts.list(limit=50)
        assert isinstance(page, Page) and page.total == TOTAL
        assert len(page) == 50 and page[0].id == "alert-0" and len(api.requests) == 1
        assert [a.id for a in page] == [f"alert-{i}" for i in range(TOTAL)]  # for: every page
        assert [len(p.items) for p in page.iter_pages()] == [50, 50, 20]
        last = page.next_page().next_page()
        assert last[0].id == "alert-100" and not last.has_next_page()
        assert "20 items of 120" in repr(last)


async def test_the_open_alert_count_is_right_past_the_first_page(
    api: FakeAPI, client: AsyncCaged
) -> None:
    api.route("GET", "/v1/alerts", _alerts)
    api.route("GET", "/v1/notifications/unread-count", {"unread_count": 3})
    fetched: Any = await OPEN_ALERTS.fetch(client, None)
    assert fetched.value.count == TOTAL - len(range(0, TOTAL, 3))
    assert not fetched.held and not fetched.etag  # the first page's ETag covers not all
    unread: Any = await UNREAD.fetch(client, None)
    assert unread.value.count == 3
