"""A ``full``-network cage's own network: slirp4netns in the cage's network namespace.

Each cage has its own network namespace (bwrap ``--unshare-net``), so two sandboxes can both
listen on port 8000 and neither sees the other's servers nor the host's loopback.  For
``full`` networking a user-mode network stack, slirp4netns, gives that namespace a ``tap0``
with its own address and outbound TCP/UDP (and DNS through slirp's forwarder) via ordinary
sockets of the slirp4netns process on the host.  It runs as the cage's unprivileged uid,
joined to the cage's cgroups (so it is frozen, limited and killed with the cage), with
``--disable-host-loopback`` so the cage cannot reach services bound to the host's loopback —
the platform's API among them.  Preview URLs reach cage ports through the agent instead.

Each cage gets a /24 of its own (derived from its uid) so addresses differ between sandboxes;
the cage is always ``.100`` in it, the gateway ``.2`` and the name server ``.3``.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import procs
from .api import CageError

READY_TIMEOUT_S = 10.0
_NS_GET_USERNS = 0xB701  # ioctl(2) on a namespace fd: the user namespace owning it
_SUBNETS = 16384  # 10.64.0.0/24 … 10.127.255.0/24


@dataclass(frozen=True, slots=True)
class CageAddress:
    """The addresses of one cage's slirp network."""

    cidr: str
    ip: str
    dns: str


def slirp_problem() -> str | None:
    """None when ``full`` networking can be given to cages; otherwise why not."""
    if shutil.which("slirp4netns") is None:
        return "slirp4netns is not installed"
    try:
        mode = os.stat("/dev/net/tun").st_mode
    except OSError:
        return "/dev/net/tun is missing"
    if os.geteuid() == 0 and mode & 0o006 != 0o006:
        # Cages' uids must open it (as on most distributions): chmod 0666 /dev/net/tun
        return "/dev/net/tun is not usable by unprivileged users (chmod 0666 /dev/net/tun)"
    return None


def address_for(seed: int) -> CageAddress:
    """The cage's subnet and addresses, from a per-cage number (its uid)."""
    n = seed % _SUBNETS
    net = ipaddress.IPv4Network((f"10.{64 + n // 256}.{n % 256}.0", 24))
    base = int(net.network_address)
    return CageAddress(
        str(net), str(ipaddress.IPv4Address(base + 100)), str(ipaddress.IPv4Address(base + 3))
    )


def open_low_ports(init_pid: int) -> None:
    """Let the cage bind ports below 1024 on its own network (harmless there).  Its processes
    sit in a nested user namespace (no capabilities over the network namespace), so the
    namespaced sysctl is set from outside; only a root server can, others leave it."""
    nsenter = shutil.which("nsenter")
    if os.geteuid() != 0 or nsenter is None:
        return
    subprocess.run(
        [
            nsenter,
            f"--net=/proc/{init_pid}/ns/net",
            "--",
            "sh",
            "-c",
            "echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=READY_TIMEOUT_S,
        check=False,
    )


def start_slirp(
    prefix: list[str], init_pid: int, address: CageAddress, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start slirp4netns for the cage whose init is ``init_pid`` (blocking until its
    network is configured).  ``prefix`` runs it as the cage's uid inside its cgroups."""
    slirp = shutil.which("slirp4netns")
    if slirp is None:
        raise CageError("slirp4netns is not installed")
    # slirp4netns must join the user namespace that owns the cage's network namespace: not
    # the one the cage's processes end up in (bwrap --disable-userns nests another), and
    # asked of the network namespace itself, which exists from the init's first instant.
    net = os.open(f"/proc/{init_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        owner = fcntl.ioctl(net, _NS_GET_USERNS)
    finally:
        os.close(net)
    ready_r, ready_w = os.pipe()
    argv = [
        *prefix,
        slirp,
        "--configure",
        "--mtu=65520",
        "--disable-host-loopback",
        f"--cidr={address.cidr}",
        f"--ready-fd={ready_w}",
        f"--userns-path=/proc/self/fd/{owner}",
        "--netns-type=path",
        f"/proc/{init_pid}/ns/net",
        "tap0",
    ]
    try:
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                pass_fds=(ready_w, owner),
                start_new_session=True,
            )
    finally:
        os.close(ready_w)
        os.close(owner)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if procs.wait_readable(ready_r, left):
                if os.read(ready_r, 1) == b"1":
                    return process
                break  # closed without the ready byte: it failed
            if left <= 0:
                break
    finally:
        os.close(ready_r)
    process.kill()
    process.wait()
    raise CageError(f"the cage's network did not come up (slirp4netns; see {log_path.name})")
