"""What a sandbox must never do to its host or its neighbours, tried from inside real cages
over the platform's real HTTP API (issue 9's critical findings, each tried again).

- every process of a cage runs as an unprivileged host uid, a different one per sandbox;
- kernel settings (``/proc/sys``) cannot be written, ``/sys`` is absent;
- root-only host files are unreadable — in fact no host file is there: the root is the
  template's image;
- each sandbox has its own network: two listen on one port, neither reaches the other nor the
  host's loopback (where the platform's API listens), and ``Sandbox.ip`` is its own address;
- each template reports the runtime version its name promises.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from platform_helpers import create_running, problem_detail

from caged_platform.runtime import templates
from caged_platform.runtime.identity import CAGE_UID_BASE

pytestmark = [pytest.mark.integration, pytest.mark.needs_bwrap]

_LISTEN = (
    "nohup python3 -c \"import http.server as h; h.HTTPServer(('0.0.0.0', 8000), "
    "type('H', (h.BaseHTTPRequestHandler,), {'do_GET': lambda s: (s.send_response(200), "
    "s.end_headers(), s.wfile.write(b'$NAME'))})).serve_forever()\" > /dev/null 2>&1 &"
)


async def _exec(client: httpx.AsyncClient, sandbox_id: str, command: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/sandboxes/{sandbox_id}/exec", json={"command": command}, timeout=60
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _host_uids_of(pid: int) -> set[int]:
    """Real, effective, saved and filesystem uids of a host process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return {int(v) for v in line.split()[1:]}
    raise AssertionError(f"no Uid line for {pid}")


def _cage_host_pids(sandbox_id: str) -> set[int]:
    """Host pids whose environment names the sandbox (the cage's init has none; every
    process the agent starts does)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"CAGED_SANDBOX_ID={sandbox_id}".encode() in environ.split(b"\0"):
            found.add(int(entry.name))
    return found


@pytest.fixture
def two_sandboxes(sync_client: httpx.Client) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    first = create_running(sync_client)
    try:
        second = create_running(sync_client)
        try:
            yield first, second
        finally:
            sync_client.delete(f"/v1/sandboxes/{second['id']}")
    finally:
        sync_client.delete(f"/v1/sandboxes/{first['id']}")


async def test_cage_processes_run_as_distinct_unprivileged_host_uids(
    client: httpx.AsyncClient, two_sandboxes: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    uids = []
    for sandbox in two_sandboxes:
        sid = sandbox["id"]
        inside = await _exec(client, sid, "nohup sleep 300 > /dev/null 2>&1 & id -u")
        assert inside["output"] == "0\n"  # root inside, by a user namespace
        pids = _cage_host_pids(sid)
        assert pids, "the cage's processes must be visible on the host"
        host_uids = set().union(*(_host_uids_of(pid) for pid in pids))
        assert len(host_uids) == 1 and min(host_uids) >= CAGE_UID_BASE, host_uids
        uids.append(host_uids.pop())
        config = sandbox["config"]
        assert f"host uid {uids[-1]}" in config["user"]
    assert uids[0] != uids[1]


async def test_kernel_settings_and_host_files_are_out_of_reach(
    client: httpx.AsyncClient, two_sandboxes: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    sid = two_sandboxes[0]["id"]
    before = _read("/proc/sys/kernel/core_pattern")
    for setting in (
        "kernel/core_pattern",
        "vm/swappiness",
        "kernel/printk_ratelimit",
        "vm/drop_caches",
        "net/ipv4/ip_forward",
    ):
        written = await _exec(client, sid, f"echo 1 > /proc/sys/{setting}")
        assert written["exit_code"] != 0, setting
    assert _read("/proc/sys/kernel/core_pattern") == before
    sysrq = await _exec(client, sid, "echo h > /proc/sysrq-trigger")
    assert sysrq["exit_code"] != 0
    assert (await _exec(client, sid, "ls -A /sys"))["output"] == ""

    # The template's own /etc/shadow, never the host's: and even that is unreadable to the
    # cage's root, which owns nothing of the image.
    host_shadow = _read("/etc/shadow")
    shadow = await _exec(client, sid, "cat /etc/shadow")
    assert shadow["exit_code"] != 0 and "Permission denied" in shadow["output"]
    assert host_shadow.splitlines()[0] not in shadow["output"]
    # Nothing of the host's filesystem: not its home, data dirs nor the platform's sockets.
    for path in ("/root/.local", "/var/lib/caged", "/var/cache/caged", "/work", "/run/user"):
        listed = await _exec(client, sid, f"ls -A {path}")
        assert listed["exit_code"] != 0 or listed["output"] == "", (path, listed)
    other = two_sandboxes[1]["id"]
    found = await _exec(client, sid, f"find / -xdev -name '*{other}*' 2>/dev/null | head -3")
    assert found["output"] == ""


async def test_each_sandbox_has_its_own_network(
    client: httpx.AsyncClient,
    two_sandboxes: tuple[dict[str, Any], dict[str, Any]],
    platform: Any,
) -> None:
    first, second = two_sandboxes
    for sandbox, name in ((first, "first"), (second, "second")):
        started = await _exec(client, sandbox["id"], _LISTEN.replace("$NAME", name))
        assert started["exit_code"] == 0
    for sandbox, name in ((first, "first"), (second, "second")):
        fetch = (
            "for i in $(seq 100); do curl -s -m 2 http://127.0.0.1:8000/ && break; sleep 0.1; done"
        )
        # Both listen on 8000, each answers from its own.
        assert (await _exec(client, sandbox["id"], fetch))["output"] == name

    assert first["ip"] and second["ip"] and first["ip"] != second["ip"]
    shown = await _exec(client, first["id"], "ip -4 -o addr show tap0")
    assert f"inet {first['ip']}/" in shown["output"]

    # Neither reaches the other (by its address) nor the host's loopback, where the
    # platform's API listens.  (This machine's own network may answer for any outside
    # address, so what counts is who answers, not whether something does.)
    api_port = urlsplit(platform.url).port
    async with httpx.AsyncClient() as plain:
        api_answer = (await plain.get(f"{platform.url}/v1/sandboxes")).text
    assert api_answer
    gateway = first["ip"].rsplit(".", 1)[0] + ".2"  # slirp's stand-in for the host
    for target in (
        f"{second['ip']}:8000",
        f"127.0.0.1:{api_port}",
        f"localhost:{api_port}",
        f"{gateway}:{api_port}",
    ):
        probe = await _exec(client, first["id"], f"curl -s -m 3 http://{target}/v1/sandboxes")
        assert "second" not in probe["output"] and api_answer not in probe["output"], target

    # From the host, the preview URL reaches the port inside the sandbox.
    ports = (await client.get(f"/v1/sandboxes/{first['id']}/ports")).json()
    preview = next(p["preview_url"] for p in ports if p["port"] == 8000)
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(preview)).text == "first"


@pytest.mark.parametrize("name", list(templates.OFFERED))
async def test_each_template_provides_what_its_name_promises(
    name: str, client: httpx.AsyncClient, sync_client: httpx.Client
) -> None:
    template = templates.OFFERED[name]
    sandbox = create_running(sync_client, template=name, network_mode="none")
    try:
        assert sandbox["template"] == name
        version = await _exec(client, sandbox["id"], template.version_command)
        assert version["output"].startswith(template.version_prefix), version
        if name.startswith("node"):
            npm = await _exec(client, sandbox["id"], "npm --version")
            assert npm["exit_code"] == 0, npm
    finally:
        await client.delete(f"/v1/sandboxes/{sandbox['id']}")


async def test_templates_not_offered_are_refused_with_what_is(
    client: httpx.AsyncClient,
) -> None:
    listed = (await client.get("/v1/templates")).json()
    offered = {t["name"] for t in listed if t["available"]}
    assert offered == set(templates.OFFERED)
    assert all(t["built"] for t in listed if t["available"])  # ./dev builds them first
    for name in templates.REFUSED:
        detail = problem_detail(await client.post("/v1/sandboxes", json={"template": name}), 400)
        assert "offers: minimal, python-311, node-22, node-20" in detail


async def test_the_network_helper_belongs_to_the_cage_and_dies_with_it(
    client: httpx.AsyncClient, sync_client: httpx.Client
) -> None:
    """slirp4netns belongs to the cage: it dies with it (no host process is left over)."""
    sandbox = create_running(sync_client, network_mode="full")
    sid = sandbox["id"]
    uid = int(sandbox["config"]["user"].split("host uid ")[1].split(",")[0])
    assert "slirp4netns" in _commands_of(uid).values()
    assert (await client.delete(f"/v1/sandboxes/{sid}")).status_code == 204
    # Destroy answers once every process of the cage is verified dead (and reaped).
    assert _commands_of(uid) == {}


def _read(path: str) -> str:
    return Path(path).read_text()


def _commands_of(uid: int) -> dict[int, str]:
    """Host processes (zombies included) of ``uid``: pid → command name."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.stat(proc).st_uid == uid:
                found[int(proc.name)] = (proc / "comm").read_text().strip()
        except OSError:
            continue  # it exited meanwhile
    return found
