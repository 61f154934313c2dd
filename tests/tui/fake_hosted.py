"""The hosted platform's account side in the shapes api.caged.dev answers with, for tests
and snapshots on a mock transport: alerts and rules, notifications and their settings,
account keys and sessions, billing (Stripe links). Chained in front of
:class:`~fake_platform.FakePlatform`, which serves the sandboxes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
from fake_platform import FakePlatform

Handler = Callable[[httpx.Request], httpx.Response]


def _alert(
    n: int, severity: str, state: str, rule: str, title: str, **fields: Any
) -> dict[str, Any]:
    return {
        "id": f"alert-{n:04d}",
        "account_id": "acct-1",
        "rule_id": f"rule-{rule}",
        "rule_type": rule,
        "severity": severity,
        "state": state,
        "title": title,
        "message": fields.pop("message", ""),
        "sandbox_id": fields.pop("sandbox_id", ""),
        "session_id": fields.pop("session_id", ""),
        "meta": fields.pop("meta", {}),
        "created_at": fields.pop("created_at"),
        "resolved_at": fields.pop("resolved_at", None),
    }


ALERTS = [
    _alert(6, "critical", "open", "budget_exceeded", "Budget exhausted — sandbox stopped",
           message="Sandbox cage-0a1b2c3d has used $5.00 of its $5.00 budget; it was stopped.",
           sandbox_id="cage-0a1b2c3d", meta={"percent": "100", "level": "exceeded"},
           created_at="2026-11-27T11:58:00Z"),
    _alert(5, "warning", "open", "trust_score_low", "Trust score 64",
           message="Session sess-33cc44dd scored 64, below 70. Last: curl | sh.",
           sandbox_id="cage-0a1b2c3d", session_id="sess-33cc44dd", meta={"score": "64"},
           created_at="2026-11-27T11:30:00Z"),
    _alert(4, "info", "open", "agent_stuck", "Agent stuck",
           message="Session sess-11aa22bb has had no events for 12 minutes.",
           sandbox_id="cage-8c9d0e1f", session_id="sess-11aa22bb",
           created_at="2026-11-27T11:45:00Z"),
    _alert(3, "warning", "open", "error_spike", "9 errors in 5 minutes",
           message="cage-4e5f6a7b reported 9 errors in the last 5 minutes.",
           sandbox_id="cage-4e5f6a7b", meta={"count": "9"}, created_at="2026-11-27T10:10:00Z"),
    _alert(2, "warning", "resolved", "budget_exceeded", "Budget 82% used",
           message="Sandbox cage-0a1b2c3d has used $4.10 of its $5.00 budget (82%).",
           sandbox_id="cage-0a1b2c3d", created_at="2026-11-27T09:50:00Z",
           resolved_at="2026-11-27T10:00:00Z"),
    _alert(1, "warning", "resolved", "cost_anomaly", "Session cost 4.2x the usual",
           message="Session sess-00ff00ff has cost $0.84, more than 3x the median session ($0.20).",
           sandbox_id="cage-4e5f6a7b", session_id="sess-00ff00ff",
           created_at="2026-11-26T19:00:00Z", resolved_at="2026-11-26T20:00:00Z"),
]  # fmt: skip

RULES = [
    {"id": "rule-budget_exceeded", "account_id": "acct-1", "type": "budget_exceeded",
     "enabled": True, "config": {"threshold_percent": 80}, "created_at": "2026-11-01T00:00:00Z"},
    {"id": "rule-cost_anomaly", "account_id": "acct-1", "type": "cost_anomaly",
     "enabled": True, "config": {"multiplier_threshold": 3}, "created_at": "2026-11-01T00:00:00Z"},
    {"id": "rule-agent_stuck", "account_id": "acct-1", "type": "agent_stuck",
     "enabled": False, "config": {"idle_minutes": 10}, "created_at": "2026-11-01T00:00:00Z"},
    {"id": "rule-error_spike", "account_id": "acct-1", "type": "error_spike", "enabled": True,
     "config": {"error_count_threshold": 5, "window_minutes": 5},
     "created_at": "2026-11-01T00:00:00Z"},
    {"id": "rule-trust_score_low", "account_id": "acct-1", "type": "trust_score_low",
     "enabled": True, "config": {"score_threshold": 70}, "created_at": "2026-11-01T00:00:00Z"},
]  # fmt: skip

NOTIFICATIONS = [
    {"id": "ntf-4", "account_id": "acct-1", "alert_id": "alert-0006", "channel": "in_app",
     "title": "Budget exhausted — sandbox stopped", "message": "cage-0a1b2c3d was stopped.",
     "read": False, "created_at": "2026-11-27T11:58:00Z"},
    {"id": "ntf-3", "account_id": "acct-1", "alert_id": "alert-0006", "channel": "slack",
     "title": "Budget exhausted — sandbox stopped", "message": "cage-0a1b2c3d was stopped.",
     "read": False, "created_at": "2026-11-27T11:58:00Z", "delivered": True},
    {"id": "ntf-2", "account_id": "acct-1", "alert_id": "alert-0005", "channel": "discord",
     "title": "Trust score 64", "message": "Session sess-33cc44dd scored 64.", "read": False,
     "created_at": "2026-11-27T11:30:00Z", "delivered": False,
     "delivery_error": "HTTP 404 from the webhook"},
    {"id": "ntf-1", "account_id": "acct-1", "alert_id": "alert-0002", "channel": "in_app",
     "title": "Budget 82% used", "message": "cage-0a1b2c3d used 82% of its budget.",
     "read": True, "created_at": "2026-11-27T09:50:00Z"},
]  # fmt: skip

NOTIFICATION_CONFIG = {
    "account_id": "acct-1",
    "enabled_channels": ["in_app", "slack", "discord"],
    "slack_channel_id": "C024BE91L",
    "email_address": "",
    "slack_webhook_configured": True,
    "slack_webhook_hint": "...x9Qz",
    "slack_bot_token_configured": False,
    "slack_bot_token_hint": "",
    "discord_webhook_configured": False,
    "discord_webhook_hint": "",
}

ACCOUNT = {
    "id": "acct-1",
    "email": "ada@example.com",
    "name": "Ada",
    "tier": "pro",
    "email_verified": True,
    "created_at": "2026-01-05T10:00:00Z",
}

KEYS = [
    {"id": "key-1", "name": "laptop", "prefix": "caged_sk_a1b2", "scope": "full",
     "last_used": "2026-11-27T11:59:00Z", "expires_at": None, "created_at": "2026-01-05T10:00:00Z"},
    {"id": "key-2", "name": "ci \x1b[31mred\x1b[0m\x07", "prefix": "caged_sk_c3d4",
     "scope": "read_only", "last_used": None, "expires_at": "2027-01-01T00:00:00Z",
     "created_at": "2026-10-01T08:00:00Z"},
]  # fmt: skip

ACCOUNT_SESSIONS = [
    {"id": "as-1", "user_agent": "caged-tui/0.4 (linux)", "ip": "203.0.113.7",
     "expires_at": "2026-12-27T12:00:00Z", "created_at": "2026-11-27T08:00:00Z"},
    {"id": "as-2", "user_agent": "curl/8.5.0\x1b]0;pwned\x07", "ip": "198.51.100.20",
     "expires_at": "2026-11-28T12:00:00Z", "created_at": "2026-11-26T12:00:00Z"},
]  # fmt: skip

SUBSCRIPTION = {
    "tier": "pro",
    "status": "active",
    "customer_id": "cus_Q1w2e3",
    "current_period_end": "2026-12-27T00:00:00Z",
    "cancel_at_period_end": False,
    "trial_ends_at": None,
}
USAGE = {
    "compute_minutes": 1234.5,
    "reported_minutes": 1200.0,
    "pending_seconds": 2070,
    "last_reported_at": "2026-11-27T11:00:00Z",
}
NEW_SECRET = "caged_sk_e5f6Q2hhbmdlTWVJbW1lZGlhdGVseQ7hT3xK"
CHECKOUT_URL = "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4"
PORTAL_URL = "https://billing.stripe.com/p/session/test_YWNjdF8x"


def _session(n: int, sandbox: str, day: int, llm: float, compute: float) -> dict[str, Any]:
    return {
        "id": f"sess-{n:04d}", "sandbox_id": sandbox, "status": "completed",
        "tokens_in": 1000, "tokens_out": 500, "cost_usd": llm, "llm_cost": llm,
        "compute_cost": compute, "total_cost": llm + compute, "trust_score": 90,
        "event_count": 12, "duration_ms": 60000.0,
        "started_at": f"2026-11-{day:02d}T10:00:00Z", "ended_at": f"2026-11-{day:02d}T10:01:00Z",
    }  # fmt: skip


SESSIONS = [
    _session(n, sandbox, day, llm, compute)
    for n, (sandbox, day, llm, compute) in enumerate(
        [
            ("cage-0a1b2c3d", 27, 0.21, 0.02), ("cage-0a1b2c3d", 26, 0.35, 0.03),
            ("cage-4e5f6a7b", 26, 0.62, 0.05), ("cage-0a1b2c3d", 25, 0.12, 0.01),
            ("cage-4e5f6a7b", 23, 0.40, 0.04), ("cage-8c9d0e1f", 22, 0.0, 0.003),
            ("cage-0a1b2c3d", 20, 0.18, 0.02), ("cage-4e5f6a7b", 18, 0.27, 0.03),
            ("cage-2a3b4c5d", 16, 0.05, 0.0),
        ]
    )
]  # fmt: skip


class HostedAccount:
    """The account side of a hosted platform; records what it was asked to change."""

    def __init__(self, sandboxes: FakePlatform | None = None) -> None:
        self.sandboxes = sandboxes or FakePlatform()
        self.alerts = copy.deepcopy(ALERTS)
        self.rules = copy.deepcopy(RULES)
        self.notifications = copy.deepcopy(NOTIFICATIONS)
        self.config = copy.deepcopy(NOTIFICATION_CONFIG)
        self.keys = copy.deepcopy(KEYS)
        self.subscription = copy.deepcopy(SUBSCRIPTION)
        #: (method, path, JSON body) of every request that changes something.
        self.changes: list[tuple[str, str, Any]] = []

    def _json(self, data: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(data), headers={"content-type": "application/json"}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer the account side; everything else goes to the sandboxes' fake."""
        path = request.url.path.removeprefix("/v1")
        body = json.loads(request.content) if request.content else None
        if request.method != "GET":
            self.changes.append((request.method, path, body))
        answer = self._route(request.method, path, request.url.params, body)
        return answer if answer is not None else self.sandboxes.handle(request)

    def _route(
        self, method: str, path: str, params: httpx.QueryParams, body: Any
    ) -> httpx.Response | None:
        if (method, path) == ("GET", "/alerts"):
            limit, offset = int(params.get("limit", 50)), int(params.get("offset", 0))
            page = self.alerts[offset : offset + limit]
            return self._json(
                {"alerts": page, "total": len(self.alerts), "limit": limit, "offset": offset}
            )
        if path == "/alerts/rules":
            return self._json(self.rules)
        if method == "POST" and path.startswith("/alerts/") and path.endswith("/resolve"):
            for alert in self.alerts:
                if alert["id"] == path.split("/")[2]:
                    alert["state"] = "resolved"
            return httpx.Response(204)
        if path.startswith("/alerts/"):
            found = [a for a in self.alerts if a["id"] == path.split("/")[2]]
            return self._json(found[0]) if found else None
        if path == "/notifications":
            unread = sum(1 for n in self.notifications if not n["read"])
            return self._json({"notifications": self.notifications, "unread_count": unread})
        if path == "/notifications/unread-count":
            return self._json({"unread_count": sum(1 for n in self.notifications if not n["read"])})
        if path == "/notifications/config":
            return self._json(self.config)
        if path == "/account":
            return self._json(ACCOUNT)
        if (method, path) == ("POST", "/account/keys"):
            info = {"id": "key-3", "name": body["name"], "prefix": "caged_sk_e5f6",
                    "scope": body.get("scope", "full"), "last_used": None, "expires_at": None,
                    "created_at": "2026-11-27T12:00:00Z"}  # fmt: skip
            self.keys.append(info)
            return self._json({"key": NEW_SECRET, "info": info}, 201)
        if path == "/account/keys":
            return self._json(self.keys)
        if path == "/account/sessions":
            return self._json(ACCOUNT_SESSIONS)
        if path.startswith("/sandboxes/") and path.endswith("/sessions"):
            return self._json([x for x in SESSIONS if x["sandbox_id"] == path.split("/")[2]])
        if path == "/sessions":
            return self._json(
                {"data": SESSIONS, "pagination": {"page": 1, "per_page": 100,
                                                  "total": len(SESSIONS), "total_pages": 1}}
            )  # fmt: skip
        if path == "/billing/subscription":
            return self._json(self.subscription)
        if path == "/billing/usage":
            return self._json(USAGE)
        if (method, path) == ("POST", "/billing/checkout"):
            return self._json({"url": f"{CHECKOUT_URL}#{body['plan_id']}"})
        if (method, path) == ("POST", "/billing/portal"):
            return self._json({"url": PORTAL_URL})
        if (method, path) == ("POST", "/billing/cancel"):
            self.subscription["cancel_at_period_end"] = True
            return httpx.Response(204)
        return None
