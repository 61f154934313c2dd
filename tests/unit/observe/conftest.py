"""Fixtures for the observe package tests: a real Observer on a tmp data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from observe_helpers import Clock, RecordingHooks

from caged_platform.observe import DeliveryPolicy, Observer


@pytest.fixture
def hooks() -> RecordingHooks:
    return RecordingHooks()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def observer(tmp_path: Path, hooks: RecordingHooks, clock: Clock) -> AsyncIterator[Observer]:
    # Long timer periods: tests call tick() themselves so nothing races them.
    obs = Observer(
        tmp_path / "data",
        hooks=hooks,
        clock=clock,
        tick_seconds=3600,
        flush_seconds=0.05,
        delivery=DeliveryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, timeout=5),
    )
    await obs.start()
    try:
        yield obs
    finally:
        await obs.close()
