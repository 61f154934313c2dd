"""What the account-side TUI tests share: the real app on a real local platform, the API
beside it, typing a ``:`` destination, and a sandbox with a budget an agent spends from.
(Imported by module name: pytest puts tests/tui on sys.path.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from eventually import eventually
from textual.pilot import Pilot

from caged_core.client import AsyncCaged
from caged_platform.observe.alerts import RULE_DEFAULTS
from caged_tui.app import CagedApp, make_app
from caged_tui.settings import Settings
from caged_tui.widgets.header import CagedHeader


def live_app(platform: Any) -> CagedApp:
    client = AsyncCaged(api_key=platform.api_key, base_url=platform.url)
    return make_app(client, Settings(base_url=platform.url, local=True, refresh_seconds=1.0))


def api(platform: Any) -> httpx.Client:
    return httpx.Client(base_url=f"{platform.url}/v1", headers=platform.headers, timeout=60)


def raise_error_spike(platform: Any, session_id: str) -> None:
    """Ingest as many errors at once as the error-spike rule needs to raise an alert (and
    its notification) on a new subject."""
    spike = int(RULE_DEFAULTS["error_spike"]["error_count_threshold"])
    now = datetime.now(UTC).isoformat()
    error = {"type": "error", "timestamp": now, "session_id": session_id, "payload": {}}
    with api(platform) as client:
        answer = client.post("/events/ingest", json={"events": [error] * spike})
        assert answer.is_success, answer.text


@pytest.fixture
def budgeted(platform: Any) -> Iterator[str]:
    """A running sandbox with a $1 budget."""
    with api(platform) as client:
        created = client.post(
            "/sandboxes", json={"template": "minimal", "budget": 1.0}, timeout=360
        )
        assert created.status_code == 201, created.text
        sandbox_id = created.json()["id"]
        eventually(
            lambda: client.get(f"/sandboxes/{sandbox_id}").json()["status"] == "running",
            timeout=120,
            what=f"{sandbox_id} to start",
        )
        try:
            yield sandbox_id
        finally:
            client.delete(f"/sandboxes/{sandbox_id}")


def spend(platform: Any, sandbox_id: str, cost: float) -> None:
    """An agent in the sandbox reports an LLM call costing ``cost``."""
    event = {
        "type": "llm_call",
        "timestamp": datetime.now(UTC).isoformat(),
        "sandbox_id": sandbox_id,
        "session_id": f"agent-{sandbox_id}",
        "payload": {"model": "claude-4", "tokens_in": 10, "tokens_out": 10, "cost_usd": cost},
    }
    with api(platform) as client:
        answer = client.post("/events/ingest", json={"events": [event]})
        assert answer.json()["accepted"] == 1, answer.text


def header(app: CagedApp, badge: str) -> str:
    """What the header paints for ``badge`` (``alerts``, ``unread``…)."""
    return app.screen.query_one(CagedHeader).badge(badge)


async def go(pilot: Pilot[Any], name: str) -> None:
    """``:name`` and enter, as typed."""
    await pilot.press("colon", *name, "enter")
