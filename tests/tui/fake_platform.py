"""A fixed, in-memory platform behind ``httpx.MockTransport`` for snapshot tests.

Everything is deterministic: fixed ids, fixed timestamps, and a frozen clock
(:data:`NOW`) that the app receives through ``make_app(now=...)``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import fake_sessions
import httpx

from caged_core.client import AsyncCaged
from caged_tui.app import CagedApp, make_app
from caged_tui.settings import Settings

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
BASE_URL = "http://caged.test"


def frozen_now() -> datetime:
    """The snapshot clock."""
    return NOW


def _sandbox(
    sandbox_id: str,
    status: str,
    template: str,
    *,
    created: str,
    started: str | None = None,
    activity: str | None = None,
    cpus: int = 2,
    memory_mb: int = 512,
    disk_gb: int = 5,
    network_mode: str = "full",
    cost: float = 0.0,
    budget: float | None = None,
    isolation: str = "bwrap",
    last_error: str | None = None,
    allowlist: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": sandbox_id,
        "status": status,
        "template": template,
        "ip": "10.0.0.2",
        "cpus": cpus,
        "memory_mb": memory_mb,
        "disk_gb": disk_gb,
        "network_mode": network_mode,
        "allowlist": allowlist or [],
        "budget": budget,
        "timeout": 900,
        "init_script": "pip install -r requirements.txt" if template.startswith("python") else None,
        "config": {
            "source": "flags",
            "isolation": isolation,
            "limits": "rlimit+affinity",
            "network": "shared host network" if network_mode == "full" else "allowlist proxy",
        },
        "created_at": created,
        "started_at": started,
        "stopped_at": None,
        "cost": cost * 0.8,
        "llm_cost": cost * 0.2,
        "total_cost": cost,
        "last_activity_at": activity,
        "last_error": last_error,
    }


SANDBOXES: list[dict[str, Any]] = [
    _sandbox(
        "cage-0a1b2c3d",
        "running",
        "python-312",
        created="2026-11-27T09:30:00Z",
        started="2026-11-27T09:30:05Z",
        activity="2026-11-27T11:55:00Z",
        cost=0.42,
        budget=5.0,
        memory_mb=2048,
        cpus=4,
    ),
    _sandbox(
        "cage-4e5f6a7b",
        "paused",
        "node-22",
        created="2026-11-26T18:00:00Z",
        cost=1.37,
    ),
    _sandbox(
        "cage-8c9d0e1f",
        "running",
        "minimal",
        created="2026-11-27T11:40:00Z",
        started="2026-11-27T11:40:02Z",
        activity="2026-11-27T11:59:30Z",
        network_mode="allowlist",
        allowlist=["pypi.org", "github.com"],
        cost=0.0031,
    ),
    _sandbox(
        "cage-2a3b4c5d",
        "error",
        "desktop",
        created="2026-11-27T08:00:00Z",
        cost=0.05,
        last_error="init script exited with status 127: apt-get: not found",
    ),
]

LOGS = [
    {"timestamp": "2026-11-27T09:30:00Z", "type": "lifecycle", "message": "sandbox created"},
    {"timestamp": "2026-11-27T09:30:01Z", "type": "system", "message": "isolation: bwrap"},
    {
        "timestamp": "2026-11-27T09:30:02Z",
        "type": "stdout",
        "message": "Collecting requests==2.32.3",
    },
    {
        "timestamp": "2026-11-27T09:30:04Z",
        "type": "stdout",
        "message": "Successfully installed requests-2.32.3 urllib3-2.2.3",
    },
    {
        "timestamp": "2026-11-27T09:30:05Z",
        "type": "stderr",
        "message": "WARNING: Running pip as the 'root' user",
    },
    {"timestamp": "2026-11-27T09:30:05Z", "type": "lifecycle", "message": "sandbox running"},
]

PORTS = [
    {
        "port": 8000,
        "preview_url": "http://8000-cage-0a1b2c3d.localhost:7777",
        "protocol": "http",
        "protected": False,
        "detected_at": "2026-11-27T11:50:00Z",
    },
    {
        "port": 5432,
        "preview_url": None,
        "protocol": "tcp",
        "protected": True,
        "detected_at": "2026-11-27T10:00:00Z",
    },
]

TRUST = [
    {
        "session_id": "sess-11aa22bb",
        "score": 92,
        "updated_at": "2026-11-27T11:00:00Z",
        "deductions": [],
    },
    {
        "session_id": "sess-33cc44dd",
        "score": 64,
        "updated_at": "2026-11-27T11:30:00Z",
        "deductions": [
            # Sequences of events in fake_sessions' replay of this session.
            {
                "rule": "network_denied",
                "points": 20,
                "reason": "blocked request to evil.example",
                "sequence": 24,
            },
            {
                "rule": "error_spike",
                "points": 16,
                "reason": "8 failed commands in 5 minutes",
                "sequence": 40,
            },
        ],
    },
]


class FakePlatform:
    """Serves the fixed data; ``sandboxes`` can be swapped per test."""

    def __init__(self, sandboxes: list[dict[str, Any]] | None = None) -> None:
        self.sandboxes = copy.deepcopy(SANDBOXES if sandboxes is None else sandboxes)
        self.requests: list[httpx.Request] = []
        #: While True every request fails as if the platform were down.
        self.down = False

    def calls(self, method: str, suffix: str = "") -> list[str]:
        """Paths of the requests made with ``method`` whose path ends with ``suffix``."""
        return [
            r.url.path for r in self.requests if r.method == method and r.url.path.endswith(suffix)
        ]

    def _json(self, data: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(data), headers={"content-type": "application/json"}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Route one request."""
        if self.down:
            return unreachable(request)
        self.requests.append(request)
        path = request.url.path.removeprefix("/v1")
        parts = path.strip("/").split("/")
        if path == "/sandboxes" and request.method == "GET":
            return self._json(self.sandboxes)
        if path == "/notifications/unread-count":
            return self._json({"unread_count": 3})
        if path == "/alerts":
            return self._json(
                {
                    "alerts": [
                        {
                            "id": "alert-1",
                            "state": "open",
                            "severity": "warning",
                            "title": "budget 82%",
                        }
                    ],
                    "total": 1,
                    "limit": 50,
                    "offset": 0,
                }
            )
        if parts[0] == "sandboxes" and len(parts) >= 2:
            found = [sb for sb in self.sandboxes if sb["id"] == parts[1]]
            if not found:
                return self._json(
                    {"title": "Not Found", "status": 404, "detail": f"no sandbox {parts[1]}"}, 404
                )
            if len(parts) == 2 and request.method == "DELETE":
                self.sandboxes.remove(found[0])
                return httpx.Response(204)
            if len(parts) == 2:
                return self._json(found[0])
            if parts[2] in ("pause", "resume") and request.method == "POST":
                found[0]["status"] = "paused" if parts[2] == "pause" else "running"
                return httpx.Response(204)
            if parts[2] == "logs":
                return self._json(LOGS)
            if parts[2] == "ports":
                return self._json(PORTS)
        if parts[:2] == ["trust", "sandboxes"]:
            return self._json(TRUST)
        answer = fake_sessions.handle(parts, request)
        if answer is not None:
            return answer
        return self._json({"title": "Not Found", "status": 404, "detail": "no route"}, 404)


def unreachable(request: httpx.Request) -> httpx.Response:
    """A transport handler for a platform that is down."""
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    api_key: str = "caged_sk_test",
    base_url: str = BASE_URL,
) -> AsyncCaged:
    """A real client whose requests go to ``handler``."""
    return AsyncCaged(
        api_key=api_key, base_url=base_url, transport=httpx.MockTransport(handler), max_retries=0
    )


def fake_app(
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    *,
    local: bool = True,
    **options: Any,
) -> CagedApp:
    """The real app on a mock transport, with the frozen clock."""
    settings = Settings(
        base_url=BASE_URL,
        local=local,
        theme="textual-dark",
        refresh_seconds=options.pop("refresh_seconds", 3600),
        keymap=options.pop("keymap", {}),
    )
    client = mock_client(handler or FakePlatform().handle)
    return make_app(client, settings, now=frozen_now, **options)
