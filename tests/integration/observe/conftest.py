"""Fixtures for the observe package over real loopback: webhook receivers, an Observer.

The receivers (``tests/integration/webhook_receiver.py``) are a real HTTP server on
127.0.0.1, port 0: the webhook traffic is ours to make, so it goes over a real socket.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from webhook_receiver import Receiver, serve_receiver

# The observe test helpers (RecordingHooks, Clock, event builders) live with the unit tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "observe"))

from observe_helpers import Clock, RecordingHooks

from caged_platform.observe import DeliveryPolicy, Observer


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve_receiver() as state:
        yield state


@pytest.fixture
def hooks() -> RecordingHooks:
    return RecordingHooks()


@pytest.fixture
def waits() -> list[float]:
    """Every wait between delivery attempts of :func:`observer`, in order."""
    return []


@pytest.fixture
async def observer(
    tmp_path: Path, hooks: RecordingHooks, waits: list[float]
) -> AsyncIterator[Observer]:
    async def wait(seconds: float) -> None:
        # Recorded, not waited: attempts are counted, never raced against a clock.
        waits.append(seconds)
        await asyncio.sleep(0)

    delivery = DeliveryPolicy(
        attempts=4, base_delay=0.05, max_delay=0.2, timeout=5, sleep=wait, jitter=lambda: 0.0
    )
    obs = Observer(
        tmp_path / "data",
        hooks=hooks,
        clock=Clock(),
        tick_seconds=3600,
        flush_seconds=0.05,
        delivery=delivery,
    )
    await obs.start()
    try:
        yield obs
    finally:
        await obs.close()
