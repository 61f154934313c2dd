"""Upgrading from a version whose cages ran as host root, in the data dir's ``sandboxes/``:
such a cage is stopped (never reattached), its files are kept and become the new cage's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_helpers import SKIP_WITHOUT_BWRAP, alive, destroy_all

from caged_platform.runtime import procs
from caged_platform.runtime.api import CageSpec
from caged_platform.runtime.identity import CAGE_UID_BASE
from caged_platform.runtime.manager import LocalRuntime

pytestmark = [pytest.mark.integration, pytest.mark.needs_bwrap, SKIP_WITHOUT_BWRAP]


def _legacy_sandbox(data_dir: Path, sandbox_id: str, pid: int) -> Path:
    """A sandbox folder as the previous version left it, its cage 'running' as ``pid``."""
    folder = data_dir / "sandboxes" / sandbox_id
    (folder / "workspace" / "src").mkdir(parents=True)
    (folder / "workspace" / "src" / "main.py").write_text("print('kept')\n")
    (folder / "home").mkdir()
    (folder / "run").mkdir()
    state = {  # the old cage.json: no uid, no template
        "sandbox_id": sandbox_id,
        "network_mode": "full",
        "allowlist": [],
        "isolation": "bwrap",
        "limits": "rlimit-data + cpu-affinity + sigstop-pause",
        "network": "shared host network",
        "pid": pid,
        "pid_start": procs.start_time(pid),
        "pid_ns": None,
        "cgroups": {},
        "tag": f"old/{sandbox_id}",
        "running": True,
        "paused": False,
        "started_at": 0.0,
    }
    (folder / "cage.json").write_text(json.dumps(state))
    return folder


@pytest.fixture
def old_cage() -> Iterator[subprocess.Popen[bytes]]:
    """Stands in for an old cage's init: a process of the host's root, in its own session."""
    process = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        yield process
    finally:
        process.kill()
        process.wait()


async def test_a_root_cage_of_an_older_version_is_stopped_and_its_files_move_on(
    tmp_path: Path, old_cage: subprocess.Popen[bytes]
) -> None:
    data_dir = tmp_path / "data"
    _legacy_sandbox(data_dir, "cage-old", old_cage.pid)
    runtime = LocalRuntime(data_dir)
    try:
        assert old_cage.poll() is not None  # killed by the upgrade, not reattached
        assert "stopped on upgrade" in (runtime.stop_reason("cage-old") or "")
        assert not await runtime.attach("cage-old")
        workspace = runtime.workspace_dir("cage-old")
        assert (workspace / "src" / "main.py").read_text() == "print('kept')\n"
        assert not (data_dir / "sandboxes").exists()

        # Started again, the files are the new cage's own: readable and writable inside.
        await runtime.start(CageSpec("cage-old", network_mode="none"))
        assert os.stat(workspace / "src" / "main.py").st_uid >= CAGE_UID_BASE
        out = await runtime.exec("cage-old", "python3 src/main.py && echo more >> src/main.py")
        assert out.output == "kept\n" and out.exit_code == 0
    finally:
        await destroy_all(runtime)


async def test_cages_of_a_deleted_data_dir_are_stopped_and_removed(tmp_path: Path) -> None:
    """A data dir deleted under running cages (a test platform's, typically) leaves them
    unreachable: the next runtime on this machine stops them and frees their folders."""
    doomed = LocalRuntime(tmp_path / "doomed")
    await doomed.start(CageSpec("cage-lost", network_mode="none"))
    pids = doomed.cage_pids("cage-lost")
    folder = doomed.sandbox_dir("cage-lost").parent
    assert pids and folder.is_dir()
    await doomed.aclose()
    shutil.rmtree(tmp_path / "doomed")

    survivor = LocalRuntime(tmp_path / "survivor")
    try:
        assert not any(alive(pid) for pid in pids)
        assert not folder.exists()
    finally:
        await destroy_all(survivor)
