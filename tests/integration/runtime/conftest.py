"""Fixtures for the sandbox runtime tests: real cages under a per-test data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from runtime_helpers import ISOLATION, StartCage, destroy_all

from caged_platform.runtime.api import CageSpec
from caged_platform.runtime.manager import LocalRuntime


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[LocalRuntime]:
    rt = LocalRuntime(tmp_path / "data", isolation=ISOLATION)
    try:
        yield rt
    finally:
        await destroy_all(rt)


@pytest.fixture
def start_cage(runtime: LocalRuntime) -> StartCage:
    """``await start_cage(network_mode=..., ...)`` → a running sandbox id."""
    counter = iter(range(1000))

    async def start(**fields: object) -> str:
        sandbox_id = str(fields.pop("sandbox_id", f"cage-t{next(counter)}"))
        await runtime.start(CageSpec(sandbox_id, **fields))  # type: ignore[arg-type]
        return sandbox_id

    return start
