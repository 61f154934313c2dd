"""A create whose record cannot be stored undoes only what it started itself: the spare cage
it took, never a sandbox that already has the id (an id drawn twice, or a stale one)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventually import eventually_async

from caged_core.models import SandboxCreate, SandboxStatus
from caged_platform.platform import Platform, PlatformConfig
from caged_platform.services import sandboxes as sandboxes_module

pytestmark = [pytest.mark.integration, pytest.mark.needs_bwrap]


@pytest.fixture
def quiet_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No keyring: the first key is only written to the data dir."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    yield


@pytest.mark.usefixtures("quiet_keyring")
async def test_a_create_drawing_a_live_sandboxs_id_leaves_that_sandbox_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = await Platform.open(PlatformConfig(data_dir=tmp_path / "data"))
    try:
        first = await platform.sandboxes.create(
            SandboxCreate(template="minimal", network_mode="none")
        )

        async def running() -> bool:
            row = await platform.sandboxes.row(first.id)
            return row["status"] == SandboxStatus.RUNNING.value

        await eventually_async(running, what="the first sandbox to run")
        # Another template (no spare of it is kept yet), and the id drawn is the first's.
        monkeypatch.setattr(sandboxes_module, "new_sandbox_id", lambda: first.id)
        with pytest.raises(sqlite3.IntegrityError):
            await platform.sandboxes.create(SandboxCreate(template="node-22", network_mode="none"))
        assert await platform.runtime.attach(first.id)
        assert (await platform.runtime.exec(first.id, "echo alive")).output == "alive\n"
        assert (await platform.sandboxes.row(first.id))["status"] == SandboxStatus.RUNNING.value
    finally:
        for sandbox_id in platform.runtime.sandbox_ids():
            await platform.runtime.destroy(sandbox_id)
        await platform.close()
