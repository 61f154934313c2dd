"""Every REST method: the request it sends and each documented answer shape
(hosted, and the legacy 0.2 shape where the contract names one)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from client_fakes import SECRET, FakeAPI

from caged_core.client import AsyncCaged
from caged_core.errors import (
    CagedAPIError,
    CagedConnectionError,
    CagedTimeoutError,
    CagedValidationError,
)
from caged_core.models import EventPayload, KeyScope, SandboxStatus

SANDBOX = {
    "id": "cage-0001",
    "status": "running",
    "template": "node-22",
    "cpus": 2,
    "memory_mb": 1024,
    "disk_gb": 5,
    "network_mode": "full",
    "created_at": "2026-11-27T10:00:00Z",
    "cost": 0.01,
    "llm_cost": 0.02,
    "total_cost": 0.03,
    "config": {"source": "flags"},
}


# --------------------------------------------------------------------------- sandboxes


async def test_create_sends_only_set_fields(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("POST", "/v1/sandboxes", httpx.Response(201, json=SANDBOX | {"status": "creating"}))
    sandbox = await client.sandboxes.create(
        template="node",
        memory_mb=1024,
        env={"A": "1"},
        network_mode="allowlist",
        allowlist=["pypi.org"],
        wait=False,
    )
    assert api.json_body() == {
        "template": "node-22",
        "memory_mb": 1024,
        "env": {"A": "1"},
        "network_mode": "allowlist",
        "allowlist": ["pypi.org"],
    }
    assert sandbox.status == "creating" and f"{sandbox.status}" == "creating"
    assert sandbox.total_cost == 0.03 and len(api.requests) == 1


async def test_create_waits_while_pending(api: FakeAPI, client: AsyncCaged) -> None:
    states = iter(["pending", "creating", "running"])
    api.route("POST", "/v1/sandboxes", httpx.Response(201, json=SANDBOX | {"status": "pending"}))
    api.route(
        "GET",
        "/v1/sandboxes/cage-0001",
        lambda _r: httpx.Response(200, json=SANDBOX | {"status": next(states)}),
    )
    sandbox = await client.sandboxes.create(template="minimal")
    assert sandbox.status == "running"
    assert [r.method for r in api.requests] == ["POST", "GET", "GET", "GET"]
    assert api.sleeps == [0.5, 0.5, 0.5]


async def test_create_returns_a_failed_sandbox(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("POST", "/v1/sandboxes", httpx.Response(201, json=SANDBOX | {"status": "pending"}))
    failed = SANDBOX | {"status": "error", "last_error": "init script failed"}
    api.route("GET", "/v1/sandboxes/cage-0001", failed)
    sandbox = await client.sandboxes.create(template="minimal")
    assert sandbox.status == "error" and sandbox.last_error == "init script failed"


async def test_create_wait_shares_the_budget(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("POST", "/v1/sandboxes", httpx.Response(201, json=SANDBOX | {"status": "pending"}))
    api.route("GET", "/v1/sandboxes/cage-0001", SANDBOX | {"status": "pending"})
    with pytest.raises(CagedTimeoutError, match="still pending") as info:
        await client.sandboxes.create(template="minimal", timeout=0)
    assert info.value.timeout == 0


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"template": "cobol"}, "unknown template"),
        ({"template": "minimal", "cpus": 9}, "cpus"),
        ({"template": "minimal", "network_mode": "allowlist"}, "allowlist"),
        ({"template": "minimal", "colour": "blue"}, "colour"),
    ],
)
async def test_create_validates_before_sending(
    api: FakeAPI, client: AsyncCaged, fields: dict[str, object], fragment: str
) -> None:
    with pytest.raises(CagedValidationError, match=fragment) as info:
        await client.sandboxes.create(**fields)  # type: ignore[arg-type]
    assert info.value.status == 400
    assert api.requests == []


async def test_create_never_leaks_repo_token_in_validation_errors(client: AsyncCaged) -> None:
    with pytest.raises(CagedValidationError) as info:
        await client.sandboxes.create(template="minimal", repo_token=SECRET, cpus=0)
    assert SECRET not in str(info.value)


async def test_sandbox_lifecycle_calls(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sandboxes", [SANDBOX, SANDBOX | {"id": "cage-2", "status": "weird"}])
    api.route("GET", "/v1/sandboxes/cage-0001", SANDBOX)
    for action in ("pause", "resume"):
        api.route("POST", f"/v1/sandboxes/cage-0001/{action}", httpx.Response(204))
    api.route("DELETE", "/v1/sandboxes/cage-0001", httpx.Response(204))
    listed = await client.sandboxes.list()
    assert [s.id for s in listed] == ["cage-0001", "cage-2"]
    assert listed[1].status == "weird" and listed[0].status is SandboxStatus.RUNNING
    assert (await client.sandboxes.get("cage-0001")).config is not None
    assert await client.sandboxes.pause("cage-0001") is None
    assert await client.sandboxes.resume("cage-0001") is None
    assert await client.sandboxes.destroy("cage-0001") is None
    assert [r.method for r in api.requests] == ["GET", "GET", "POST", "POST", "DELETE"]


async def test_exec_result_shapes(api: FakeAPI, client: AsyncCaged) -> None:
    answers = iter(
        [
            {"output": "hello world\n", "exit_code": 0},
            {"output": "", "exit_code": 2},
            {"output": "", "exit_code": -1, "error": "sandbox is paused"},
        ]
    )
    api.route("POST", "/v1/sandboxes/s/exec", lambda _r: httpx.Response(200, json=next(answers)))
    ok = await client.sandboxes.exec("s", "echo 'hello world'")
    assert api.json_body() == {"command": "echo 'hello world'"}
    assert ok.output == "hello world\n" and ok.ok
    failed = await client.sandboxes.exec("s", "false")
    assert failed.exit_code == 2 and not failed.ok
    broken = await client.sandboxes.exec("s", "x")
    assert broken.error == "sandbox is paused"


async def test_logs_ports_trust_terminal_sessions(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/sandboxes/s/logs",
        [{"timestamp": "2026-11-27T10:00:00Z", "type": "stdout", "message": "hi"}],
    )
    api.route(
        "GET",
        "/v1/sandboxes/s/terminal/sessions",
        [
            {
                "id": "t1",
                "rows": 24,
                "cols": 80,
                "created_at": "2026-11-27T10:00:00Z",
                "client": "caged-tui/0.1.0",
            }
        ],
    )
    logs = await client.sandboxes.logs("s", tail=5)
    assert dict(api.last.url.params) == {"tail": "5"} and logs[0].message == "hi"
    await client.sandboxes.logs("s")
    assert api.last.url.query == b""
    sessions = await client.sandboxes.terminal_sessions("s")
    assert sessions[0].rows == 24


@pytest.mark.parametrize(
    "body",
    [
        [
            {
                "port": 3000,
                "preview_url": "https://3000-s.caged.dev",
                "protocol": "http",
                "protected": False,
                "detected_at": "2026-11-27T10:00:00Z",
            }
        ],
        [{"port": 3000, "protocol": "tcp", "state": "open", "url": "https://3000-s.caged.dev"}],
    ],
    ids=["hosted", "legacy"],
)
async def test_ports_shapes(
    api: FakeAPI, client: AsyncCaged, body: list[dict[str, object]]
) -> None:
    api.route("GET", "/v1/sandboxes/s/ports", body)
    ports = await client.sandboxes.ports("s")
    assert ports[0].port == 3000 and ports[0].preview_url == "https://3000-s.caged.dev"


@pytest.mark.parametrize(
    "body",
    [
        [{"session_id": "sess-1", "score": 87, "updated_at": "2026-11-27T10:00:00Z"}],
        [{"session_id": "sess-1", "sandbox_id": "s", "score": 87, "factors": {"errors": -13}}],
    ],
    ids=["hosted", "legacy"],
)
async def test_trust_score_shapes(
    api: FakeAPI, client: AsyncCaged, body: list[dict[str, object]]
) -> None:
    api.route("GET", "/v1/trust/sandboxes/s", body)
    scores = await client.sandboxes.trust_scores("s")
    assert scores[0].score == 87


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    "entry",
    [
        {
            "name": "src",
            "path": "/workspace/src",
            "type": "directory",
            "size": 0,
            "mod_time": "2026-11-27T10:00:00Z",
        },
        {
            "name": "src",
            "path": "/workspace/src",
            "type": "dir",
            "size": 0,
            "modified": "2026-11-27T10:00:00Z",
        },
    ],
    ids=["hosted", "legacy"],
)
async def test_file_list_shapes(api: FakeAPI, client: AsyncCaged, entry: dict[str, object]) -> None:
    api.route("GET", "/v1/sandboxes/s/files", [entry])
    files = await client.files.list("s")
    assert dict(api.last.url.params) == {"path": "/workspace"}
    assert files[0].is_dir and files[0].mod_time is not None
    await client.files.list("s", "/workspace/src")
    assert dict(api.last.url.params) == {"path": "/workspace/src"}


async def test_file_read_plain_text_and_envelope(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sandboxes/s/files/content", httpx.Response(200, text="print('hi')\n"))
    assert await client.files.read("s", "/workspace/hello.py") == "print('hi')\n"
    assert dict(api.last.url.params) == {"path": "/workspace/hello.py"}
    api.route("GET", "/v1/sandboxes/s/files/content", {"content": "x"})
    assert await client.files.read("s", "/workspace/hello.py") == "x"
    api.route("GET", "/v1/sandboxes/s/files/content", {"name": "pkg", "version": 1})
    assert await client.files.read("s", "/workspace/package.json") == '{"name":"pkg","version":1}'


async def test_file_write_puts_path_in_query(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("PUT", "/v1/sandboxes/s/files/content", httpx.Response(204))
    await client.files.write("s", "/workspace/hello.py", "print('hi')")
    assert dict(api.last.url.params) == {"path": "/workspace/hello.py"}
    assert api.json_body() == {"content": "print('hi')"}


async def test_git_diff_shapes(api: FakeAPI, client: AsyncCaged) -> None:
    hosted = {"files": [{"path": "a.py", "status": "modified"}], "diff": "--- a", "staged_diff": ""}
    api.route("GET", "/v1/sandboxes/s/git/diff", hosted)
    diff = await client.files.git_diff("s")
    assert diff.files[0].path == "a.py" and diff.diff == "--- a"
    api.route("GET", "/v1/sandboxes/s/git/diff", httpx.Response(200, json="--- legacy"))
    assert (await client.files.git_diff("s", path="a.py")).diff == "--- legacy"
    assert dict(api.last.url.params) == {"path": "a.py"}
    api.route("GET", "/v1/sandboxes/s/git/diff", httpx.Response(200, text="--- plain"))
    assert (await client.files.git_diff("s")).diff == "--- plain"


# --------------------------------------------------------------------------- snapshots

SNAPSHOT = {
    "id": "snap-0001",
    "sandbox_id": "cage-0001",
    "name": "checkpoint-1",
    "description": None,
    "status": "completed",
    "trigger": "manual",
    "size_bytes": 1024,
    "created_at": "2026-11-27T10:00:00Z",
}


async def test_snapshot_calls(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET", "/v1/sandboxes/cage-0001/snapshots", [SNAPSHOT, SNAPSHOT | {"trigger": "auto-pause"}]
    )
    api.route("POST", "/v1/sandboxes/cage-0001/snapshots", httpx.Response(201, json=SNAPSHOT))
    api.route("GET", "/v1/snapshots/snap-0001", SNAPSHOT)
    api.route("DELETE", "/v1/snapshots/snap-0001", httpx.Response(204))
    assert len(await client.snapshots.list("cage-0001")) == 2
    made = await client.snapshots.create("cage-0001", name="checkpoint-1")
    assert api.json_body() == {"name": "checkpoint-1"} and made.description == ""
    await client.snapshots.create("cage-0001")
    assert api.json_body() == {}
    assert (await client.snapshots.get("snap-0001")).size_bytes == 1024
    await client.snapshots.delete("snap-0001")


async def test_snapshot_download_and_expiry(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/snapshots/snap-1/download",
        {"url": "https://s3.test/a.tar.gz?sig=abc", "expires_in_seconds": 3600},
    )
    link = await client.snapshots.download("snap-1")
    assert link.url.startswith("https://s3.test/") and not link.expired
    assert (link.expires_at - link.fetched_at).total_seconds() == 3600
    assert await client.snapshots.download_url("snap-1") == link.url


async def test_download_to_relative_url_sends_the_key(
    api: FakeAPI, client: AsyncCaged, tmp_path: Path
) -> None:
    api.route(
        "GET",
        "/v1/snapshots/snap-1/download",
        {"url": "/v1/snapshots/snap-1/download/content", "expires_in_seconds": 3600},
    )
    api.route(
        "GET",
        "/v1/snapshots/snap-1/download/content",
        httpx.Response(200, content=b"\x1f\x8barchive"),
    )
    target = await client.snapshots.download_to("snap-1", tmp_path / "snap.tar.gz")
    assert target.read_bytes() == b"\x1f\x8barchive"
    assert api.last.headers["authorization"] == f"Bearer {SECRET}"
    assert str(api.last.url) == "https://api.test/v1/snapshots/snap-1/download/content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap.tar.gz"]  # noqa: ASYNC240 - tiny


async def test_download_to_presigned_url_sends_no_key(
    api: FakeAPI, client: AsyncCaged, tmp_path: Path
) -> None:
    def s3(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "s3.test"
        return httpx.Response(200, content=b"data")

    api.route(
        "GET",
        "/v1/snapshots/snap-1/download",
        {"url": "https://s3.test/b/a.tar.gz?X-Amz-Signature=s", "expires_in_seconds": 3600},
    )
    api.route(
        "GET",
        "/b/a.tar.gz",
        httpx.Response(307, headers={"Location": "https://s3.test/b/moved.tar.gz"}),
    )
    api.route("GET", "/b/moved.tar.gz", s3)
    await client.snapshots.download_to("snap-1", tmp_path / "a.tar.gz")
    assert "authorization" not in api.last.headers and api.last.url.path == "/b/moved.tar.gz"
    assert (tmp_path / "a.tar.gz").read_bytes() == b"data"


async def test_download_to_broken_stream_leaves_no_file(
    api: FakeAPI, client: AsyncCaged, tmp_path: Path
) -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield b"part"
            raise httpx.ReadError("connection reset")

    api.route(
        "GET", "/v1/snapshots/snap-1/download", {"url": "/v1/snapshots/snap-1/download/content"}
    )
    api.route(
        "GET",
        "/v1/snapshots/snap-1/download/content",
        lambda _r: httpx.Response(200, stream=Broken()),
    )
    with pytest.raises(CagedConnectionError, match="download of snapshot snap-1"):
        await client.snapshots.download_to("snap-1", tmp_path / "x.tar.gz")
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240 - a test-sized directory


async def test_restore_defaults_to_the_snapshots_own_sandbox(
    api: FakeAPI, client: AsyncCaged
) -> None:
    api.route("GET", "/v1/snapshots/snap-0001", SNAPSHOT)
    api.route("POST", "/v1/snapshots/snap-0001/restore", httpx.Response(204))
    await client.snapshots.restore("snap-0001")
    assert api.json_body() == {"target_sandbox_id": "cage-0001"}
    await client.snapshots.restore("snap-0001", target_sandbox_id="cage-9")
    assert api.json_body() == {"target_sandbox_id": "cage-9"}
    assert [r.method for r in api.requests] == ["GET", "POST", "POST"]


# --------------------------------------------------------------------------- sessions

AGENT_SESSION = {
    "id": "sess-1",
    "sandbox_id": "cage-0001",
    "status": "completed",
    "agent_type": "claude-code",
    "tokens_in": 500,
    "tokens_out": 200,
    "cost_usd": 0.0123,
    "trust_score": None,
    "event_count": 3,
    "started_at": "2026-11-27T10:00:00Z",
}


def replay_event(seq: int) -> dict[str, object]:
    return {
        "id": f"evt-{seq}",
        "session_id": "sess-1",
        "sequence": seq,
        "type": "llm_call",
        "timestamp": "2026-11-27T10:00:00Z",
        "duration_ms": 1.5,
        "data": {"model": "claude-4"},
    }


async def test_sessions_list_paged_and_by_sandbox(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/sessions",
        {
            "data": [AGENT_SESSION],
            "pagination": {"page": 2, "per_page": 1, "total": 5, "total_pages": 5},
        },
    )
    api.route("GET", "/v1/sandboxes/cage-0001/sessions", [AGENT_SESSION])
    api.route("GET", "/v1/sessions/sess-1", AGENT_SESSION)
    page = await client.sessions.list(page=2, per_page=1)
    assert dict(api.last.url.params) == {"page": "2", "per_page": "1"}
    assert page.total == 5 and page.has_next_page() and [s.id for s in page] == ["sess-1"]
    sessions = await client.sessions.list_by_sandbox("cage-0001")
    assert f"${sessions[0].cost_usd:.4f}" == "$0.0123"
    assert (await client.sessions.get("sess-1")).trust_score is None


@pytest.mark.parametrize(
    "body",
    [
        {
            "events": [replay_event(1), replay_event(2)],
            "has_more": False,
            "next_seq": 2,
            "total": 2,
        },
        [replay_event(1), replay_event(2)],
    ],
    ids=["hosted", "legacy"],
)
async def test_replay_shapes(api: FakeAPI, client: AsyncCaged, body: object) -> None:
    api.route("GET", "/v1/sessions/sess-1/replay", body)
    page = await client.sessions.replay("sess-1", after_seq=0, limit=100, type="llm_call")
    assert dict(api.last.url.params) == {"after_seq": "0", "limit": "100", "type": "llm_call"}
    assert [e.sequence for e in page] == [1, 2] and page[0].data == {"model": "claude-4"}
    assert not page.has_next_page() and page.response.next_seq == 2


async def test_replay_plain_text_error(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/sessions/sess-1/replay", httpx.Response(400, text="invalid limit"))
    with pytest.raises(CagedValidationError, match=r"^invalid limit$"):
        await client.sessions.replay("sess-1", limit=5000)


async def test_replay_summary(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/sessions/sess-1/replay/summary",
        {
            "session_id": "sess-1",
            "event_count": 3,
            "start_time": "2026-11-27T10:00:00Z",
            "end_time": "2026-11-27T10:01:00Z",
            "duration_ms": 60000,
            "types": {"llm_call": 3},
        },
    )
    summary = await client.sessions.replay_summary("sess-1")
    assert summary.duration_ms == 60000 and summary.types == {"llm_call": 3}
    assert f"{summary.cost_usd:.4f}" == "0.0000"


# --------------------------------------------------------------------------- events


async def test_ingest_models_and_dicts(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("POST", "/v1/events/ingest", {"accepted": 2, "errors": 0})
    result = await client.events.ingest(
        [
            EventPayload(
                type="llm_call",
                sandbox_id="s",
                data={"model": "claude-4", "tokens_in": 500, "tokens_out": 200},
            ),
            {"type": "command", "timestamp": "2026-11-27T10:00:00Z", "payload": {"cmd": "ls"}},
        ]
    )
    sent = api.json_body()["events"]
    assert sent[0]["payload"] == {"model": "claude-4", "tokens_in": 500, "tokens_out": 200}
    assert "timestamp" in sent[0] and sent[1]["payload"] == {"cmd": "ls"}
    assert (result.accepted, result.errors) == (2, 0)


async def test_ingest_splits_batches_and_sums(api: FakeAPI, client: AsyncCaged) -> None:
    def count(request: httpx.Request) -> httpx.Response:
        n = len(json.loads(request.content)["events"])
        return httpx.Response(200, json={"accepted": n - 1, "errors": ["bad event"]})

    api.route("POST", "/v1/events/ingest", count)
    result = await client.events.ingest([{"type": "command"}] * 2500)
    assert [len(json.loads(r.content)["events"]) for r in api.requests] == [1000, 1000, 500]
    assert (result.accepted, result.errors) == (2497, 3)
    assert await client.events.ingest([]) == type(result)()
    assert len(api.requests) == 3


async def test_ingest_rejects_a_bad_event_before_sending(api: FakeAPI, client: AsyncCaged) -> None:
    with pytest.raises(CagedValidationError, match="event"):
        await client.events.ingest([{"timestamp": "now"}])
    assert api.requests == []


# --------------------------------------------------------------------------- alerts

ALERT = {
    "id": "alert-1",
    "rule_id": "r1",
    "rule_type": "budget_exceeded",
    "severity": "warning",
    "state": "open",
    "title": "Budget 82%",
    "message": "82% of budget used",
    "sandbox_id": "s",
    "meta": {"percent": "82"},
    "created_at": "2026-11-27T10:00:00Z",
}
LEGACY_ALERT = {
    "id": "alert-1",
    "type": "budget_exceeded",
    "severity": "high",
    "resolved": True,
    "message": "over",
    "meta": {"percent": 101},
}


async def test_alerts_hosted_envelope(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", {"alerts": [ALERT], "total": 7, "limit": 1, "offset": 3})
    page = await client.alerts.list(limit=1, offset=3)
    assert dict(api.last.url.params) == {"limit": "1", "offset": "3"}
    assert page.total == 7 and page[0].meta == {"percent": "82"}
    assert [f"[{a.severity}] {a.message}" for a in page] == ["[warning] 82% of budget used"]


async def test_alerts_legacy_array(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/alerts", [LEGACY_ALERT])
    page = await client.alerts.list()
    assert (
        page[0].severity == "critical"
        and page[0].resolved
        and page[0].rule_type == "budget_exceeded"
    )
    assert page[0].meta == {"percent": "101"}


async def test_alert_get_resolve_rules(api: FakeAPI, client: AsyncCaged) -> None:
    rule = {
        "id": "r1",
        "type": "budget_exceeded",
        "enabled": True,
        "config": {"threshold_percent": 80},
    }
    api.route("GET", "/v1/alerts/alert-1", ALERT)
    api.route("POST", "/v1/alerts/alert-1/resolve", httpx.Response(204))
    api.route("GET", "/v1/alerts/rules", [rule, {"id": "r2", "type": "new_kind", "config": None}])
    api.route(
        "PUT",
        "/v1/alerts/rules/r1",
        lambda r: httpx.Response(200, json=rule | json.loads(r.content)),
    )
    assert (await client.alerts.get("alert-1")).title == "Budget 82%"
    await client.alerts.resolve("alert-1")
    rules = await client.alerts.list_rules()
    assert rules[1].type == "new_kind" and rules[1].config == {}
    updated = await client.alerts.update_rule("r1", enabled=False)
    assert api.json_body() == {"enabled": False} and updated.enabled is False
    await client.alerts.update_rule("r1", config={"threshold_percent": 90})
    assert api.json_body() == {"config": {"threshold_percent": 90}}


# --------------------------------------------------------------------------- notifications

NOTE = {
    "id": "ntf-1",
    "alert_id": "alert-1",
    "channel": "in_app",
    "title": "Budget",
    "message": "82%",
    "read": False,
    "created_at": "2026-11-27T10:00:00Z",
}


@pytest.mark.parametrize(
    "body",
    [
        {"notifications": [NOTE], "unread_count": 1},
        [NOTE | {"body": "82%", "message": None}],
    ],
    ids=["hosted", "legacy"],
)
async def test_notification_list_shapes(api: FakeAPI, client: AsyncCaged, body: object) -> None:
    if isinstance(body, list):
        body = [{k: v for k, v in n.items() if v is not None} for n in body]
    api.route("GET", "/v1/notifications", body)
    page = await client.notifications.list(limit=10)
    assert dict(api.last.url.params) == {"limit": "10"}
    assert page.response.unread_count == 1 and page[0].message == "82%"


async def test_notification_unread_and_counts(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/notifications", {"notifications": [NOTE], "unread_count": 1})
    await client.notifications.list_unread()
    assert dict(api.last.url.params) == {"unread": "true"}
    await client.notifications.list(unread=True, limit=5)
    assert dict(api.last.url.params) == {"limit": "5", "unread": "true"}
    api.route("GET", "/v1/notifications/unread-count", {"unread_count": 4})
    assert await client.notifications.unread_count() == 4
    api.route("GET", "/v1/notifications/unread-count", {"count": 6})
    assert await client.notifications.unread_count() == 6


async def test_notification_actions_and_config(api: FakeAPI, client: AsyncCaged) -> None:
    config = {
        "account_id": "a",
        "enabled_channels": ["in_app", "slack"],
        "slack_channel_id": None,
        "slack_webhook_configured": True,
        "slack_webhook_hint": "...abcd",
    }
    api.route("POST", "/v1/notifications/ntf-1/read", httpx.Response(204))
    api.route("POST", "/v1/notifications/read-all", httpx.Response(204))
    api.route("GET", "/v1/notifications/config", config)
    api.route("PUT", "/v1/notifications/config", config)
    await client.notifications.mark_read("ntf-1")
    await client.notifications.mark_all_read()
    read = await client.notifications.get_config()
    assert read.slack_webhook_hint == "...abcd" and read.slack_channel_id == ""
    await client.notifications.update_config(
        slack_webhook_url="__clear__", enabled_channels=["in_app"]
    )
    assert api.json_body() == {"slack_webhook_url": "__clear__", "enabled_channels": ["in_app"]}
    with pytest.raises(CagedValidationError):
        await client.notifications.update_config(pager="x")


# --------------------------------------------------------------------------- account

KEY_INFO = {
    "id": "key-1",
    "name": "ci",
    "prefix": "caged_sk_abcd",
    "scope": "read_only",
    "created_at": "2026-11-27T10:00:00Z",
}


async def test_account_calls(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/account",
        {"id": "acct-1", "email": "a@b.c", "name": "A", "tier": "pro", "email_verified": True},
    )
    api.route("GET", "/v1/account/keys", [KEY_INFO])
    api.route(
        "POST", "/v1/account/keys", httpx.Response(201, json={"key": SECRET, "info": KEY_INFO})
    )
    api.route("DELETE", "/v1/account/keys/key-1", httpx.Response(204))
    api.route(
        "GET",
        "/v1/account/sessions",
        [{"id": "as-1", "user_agent": "caged-tui/0.1.0", "ip": "127.0.0.1"}],
    )
    api.route("DELETE", "/v1/account/sessions/as-1", httpx.Response(204))
    assert (await client.account.get()).tier == "pro"
    assert (await client.account.list_keys())[0].scope is KeyScope.READ_ONLY
    created = await client.account.create_key("ci", scope="read_only")
    assert api.json_body() == {"name": "ci", "scope": "read_only"}
    assert created.key == SECRET and SECRET not in repr(created) and SECRET not in str(created)
    await client.account.create_key("ci")
    assert api.json_body() == {"name": "ci"}
    await client.account.revoke_key("key-1")
    assert (await client.account.list_sessions())[0].ip == "127.0.0.1"
    await client.account.revoke_session("as-1")


# --------------------------------------------------------------------------- billing


@pytest.mark.parametrize("key", ["tier", "plan"], ids=["hosted", "legacy"])
async def test_subscription_shapes(api: FakeAPI, client: AsyncCaged, key: str) -> None:
    api.route(
        "GET",
        "/v1/billing/subscription",
        {key: "pro", "status": "active", "cancel_at_period_end": False},
    )
    sub = await client.billing.get_subscription()
    assert f"Plan: {sub.plan}, Status: {sub.status}" == "Plan: pro, Status: active"


async def test_billing_calls(api: FakeAPI, client: AsyncCaged) -> None:
    api.route(
        "GET",
        "/v1/billing/usage",
        {"compute_minutes": 12.5, "reported_minutes": 10, "pending_seconds": 30},
    )
    api.route("POST", "/v1/billing/checkout", {"url": "https://checkout.stripe.test/c"})
    api.route("POST", "/v1/billing/portal", {"url": "https://billing.stripe.test/p"})
    api.route("POST", "/v1/billing/cancel", httpx.Response(204))
    assert (await client.billing.get_usage()).compute_minutes == 12.5
    assert await client.billing.create_checkout("pro") == "https://checkout.stripe.test/c"
    assert api.json_body() == {"plan_id": "pro"}
    assert await client.billing.create_portal() == "https://billing.stripe.test/p"
    assert api.json_body() == {}
    await client.billing.cancel()


async def test_socket_ticket_hides_itself(api: FakeAPI, client: AsyncCaged) -> None:
    ticket = "caged_wst_abcdefSECRET"
    api.route(
        "POST",
        "/v1/auth/socket-ticket",
        {"ticket": ticket, "expires_in": 60, "expires_at": "2026-11-27T10:01:00Z"},
    )
    got = await client.socket_ticket()
    assert got.ticket == ticket and ticket not in repr(got) and ticket not in str(got)


async def test_api_redirects_are_not_followed(api: FakeAPI, client: AsyncCaged) -> None:
    api.route("GET", "/v1/account", httpx.Response(302, headers={"Location": "https://evil.test/"}))
    with pytest.raises(CagedAPIError, match="HTTP 302"):
        await client.account.get()
    assert len(api.requests) == 1
