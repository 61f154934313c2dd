"""The price table, and the database's migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caged_platform.observe.pricing import PRICES, llm_usage, price_for
from caged_platform.observe.store import DB_NAME, MIGRATIONS, observe_database
from caged_platform.store.ledger import applied_versions


def test_reported_cost_wins_over_the_table() -> None:
    usage = llm_usage({"model": "claude-opus-4", "tokens_in": 10**6, "cost_usd": 0.01})
    assert (usage.cost_usd, usage.priced) == (0.01, True)


def test_table_prices_by_longest_prefix() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]
    assert price_for("GPT-4o-2024-08-06") == PRICES["gpt-4o"]
    usage = llm_usage({"model": "claude-sonnet-4-20250514", "tokens_in": 2_000_000,
                       "tokens_out": 1_000_000})  # fmt: skip
    assert usage.cost_usd == pytest.approx(2 * 3.0 + 15.0)


def test_unknown_models_and_odd_counts_cost_nothing() -> None:
    usage = llm_usage({"model": "homegrown-7b", "tokens_in": 5000, "tokens_out": True})
    assert (usage.cost_usd, usage.priced, usage.tokens_in, usage.tokens_out) == (
        0.0,
        False,
        5000,
        0,
    )
    assert llm_usage({"cost_usd": -1}).cost_usd == 0.0


async def test_observe_db_is_on_the_platform_ledger_and_owner_only(tmp_path: Path) -> None:
    db = observe_database(tmp_path)
    await db.open()
    await db.close()
    again = observe_database(tmp_path)
    await again.open()  # already migrated: nothing to do
    await again.close()
    path = tmp_path / DB_NAME
    with sqlite3.connect(path) as conn:
        assert applied_versions(conn) == list(range(1, len(MIGRATIONS) + 1))
    assert path.stat().st_mode & 0o077 == 0  # webhook URLs live here: owner only
