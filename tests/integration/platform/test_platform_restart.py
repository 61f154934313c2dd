"""Sandboxes outlive the platform: a SIGKILL-ed server restarts and finds them running;
idle sandboxes pause themselves; spare cages end with the server that started them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventually import eventually
from platform_helpers import create_running, wait_for_status

from caged_platform.runtime import identity
from caged_platform.runtime.manager import SPARE_MARK, SPARES_PER_TEMPLATE

pytestmark = pytest.mark.integration


def test_sandboxes_survive_a_killed_platform(platform: Any) -> None:
    marker = f"{8_000_000 + secrets.randbelow(999_999)}"
    with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=60) as client:
        sandbox_id = create_running(client)["id"]
        started = client.post(
            f"/v1/sandboxes/{sandbox_id}/exec",
            json={"command": f"nohup sleep {marker} >/dev/null 2>&1 & echo $! > sleeper.pid"},
        )
        assert started.json()["exit_code"] == 0
        key = client.post("/v1/account/keys", json={"name": "survivor"}).json()
    platform.restart(kill=True)
    try:
        with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=60) as client:
            sandbox = client.get(f"/v1/sandboxes/{sandbox_id}").json()
            assert sandbox["status"] == "running"
            alive = client.post(
                f"/v1/sandboxes/{sandbox_id}/exec",
                json={"command": "kill -0 $(cat sleeper.pid) && echo alive"},
            ).json()
            assert alive["output"] == "alive\n"
            logs = client.get(f"/v1/sandboxes/{sandbox_id}/logs").json()
            assert "reattached after a platform restart" in [e["message"] for e in logs]
            # Acknowledged writes survived the kill: the key created just before still works.
            assert (
                client.get(
                    "/v1/account", headers={"Authorization": f"Bearer {key['key']}"}
                ).status_code
                == 200
            )
    finally:
        with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=60) as client:
            client.delete(f"/v1/sandboxes/{sandbox_id}")
            client.delete(f"/v1/account/keys/{key['info']['id']}")


def test_an_exec_seen_in_the_logs_survives_a_killed_platform(platform: Any) -> None:
    # An exec answers before its log entries are committed, but they are queued ahead of
    # any later request: the next read sees them, and what a read has seen is committed.
    marker = f"exec-{secrets.token_hex(4)}"
    with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=60) as client:
        sandbox_id = create_running(client)["id"]
        ran = client.post(f"/v1/sandboxes/{sandbox_id}/exec", json={"command": f"echo {marker}"})
        assert ran.json()["exit_code"] == 0
        logs = client.get(f"/v1/sandboxes/{sandbox_id}/logs").json()
        seen = [e["message"] for e in logs if e["type"] == "exec"][-2:]
        assert seen[0] == f"$ echo {marker}" and seen[1].startswith("exit 0 after")
    platform.restart(kill=True)
    try:
        with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=60) as client:
            logs = client.get(f"/v1/sandboxes/{sandbox_id}/logs").json()
            assert [e["message"] for e in logs if e["type"] == "exec"][-2:] == seen
    finally:
        with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=60) as client:
            client.delete(f"/v1/sandboxes/{sandbox_id}")


def test_idle_sandbox_pauses_itself(sync_client: Any) -> None:
    sandbox = create_running(sync_client, timeout=2)
    try:
        paused = wait_for_status(sync_client, sandbox["id"], "paused")
        assert paused["last_activity_at"] is not None
        logs = sync_client.get(f"/v1/sandboxes/{sandbox['id']}/logs").json()
        assert "paused after 2 s idle" in [e["message"] for e in logs]
        snapshots = sync_client.get(f"/v1/sandboxes/{sandbox['id']}/snapshots").json()
        assert [s["trigger"] for s in snapshots] == ["auto-pause"]
    finally:
        sync_client.delete(f"/v1/sandboxes/{sandbox['id']}")


def _spares(data_dir: Path) -> dict[str, set[int]]:
    """The spare cages under a data dir: id -> host pids of processes carrying that id (each
    process of a cage has it in its environment)."""
    root = identity.sandboxes_root(data_dir)
    ids = {p.name for p in root.iterdir() if (p / SPARE_MARK).exists()} if root.is_dir() else set()
    found: dict[str, set[int]] = {sid: set() for sid in ids}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for sid in ids:
            if f"CAGED_SANDBOX_ID={sid}".encode() in environ:
                found[sid].add(int(entry.name))
    return found


def _pids_alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie has ended: only its parent can reap it)."""
    alive = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2] not in "ZX":
            alive.add(pid)
    return alive


@pytest.mark.needs_bwrap
def test_spare_cages_end_with_the_server_that_started_them(
    tmp_path: Path, platform_runner: Callable[..., AbstractContextManager[Any]]
) -> None:
    with platform_runner(tmp_path) as running:

        def spares_running() -> dict[str, set[int]] | None:
            found = _spares(running.data_dir)
            ready = len(found) == SPARES_PER_TEMPLATE and all(found.values())
            return found if ready else None

        with httpx.Client(base_url=running.url, headers=running.headers, timeout=60) as client:
            create_running(client)  # the template's first create: its spares start after it
        first = eventually(spares_running, what="spare cages to start")
        running.restart(kill=True)
        # The next server removes what the killed one kept warm (nothing could claim it) as it
        # starts, which is after it prints where it listens.
        eventually(
            lambda: not _pids_alive(set().union(*first.values())),
            what="the killed server's spare cages to end",
        )
        with httpx.Client(base_url=running.url, headers=running.headers, timeout=60) as client:
            create_running(client)
        second = eventually(spares_running, what="spare cages to start again")
        assert second.keys().isdisjoint(first)
        running.stop()
        assert _pids_alive(set().union(*second.values())) == set()
        assert _spares(running.data_dir) == {}
