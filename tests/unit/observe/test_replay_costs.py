"""An LLM call priced by the platform is replayed with that price, so a replay's running
cost adds up to the session's (issue 15)."""

from __future__ import annotations

import pytest
from observe_helpers import ACCOUNT, event

from caged_platform.observe import Observer


async def test_a_call_priced_from_its_tokens_is_stored_with_its_price(observer: Observer) -> None:
    priced = {"model": "claude-sonnet-4", "tokens_in": 1000, "tokens_out": 100}
    reported = {"model": "claude-sonnet-4", "tokens_in": 1, "cost_usd": 0.5}
    unknown = {"model": "some-local-model", "tokens_in": 1000}
    result = await observer.ingest(
        ACCOUNT,
        [event("llm_call", session_id="s", payload=p) for p in (priced, reported, unknown)],
    )
    assert result.accepted == 3
    page = await observer.sessions.replay(ACCOUNT, "s")
    costs = [e.data.get("cost_usd") for e in page.events]
    assert costs == [pytest.approx((1000 * 3.0 + 100 * 15.0) / 1e6), 0.5, None]
    session = await observer.sessions.get(ACCOUNT, "s")
    assert sum(c or 0 for c in costs) == pytest.approx(session.llm_cost)
