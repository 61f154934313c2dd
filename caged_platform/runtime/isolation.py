"""Bubblewrap: whether it works here, and the command line that builds a cage.

A cage is unprivileged: bwrap runs as the sandbox's own host uid (``identity``), creates a
user namespace in which that uid is root, and drops every capability but binding low ports on
the cage's own network.  Its root is the template's image (``templates``), bound read-only at
``/``: nothing of the host's filesystem is inside.  On top come the cage's own binds:
``/workspace`` and ``/root`` (read-write, owned by the cage's uid), a private ``/tmp``,
``/.caged/run`` (read-only: the agent, its socket, the allowlist proxy's socket) and the
cage's ``/etc/hosts``, ``/etc/hostname`` and ``/etc/resolv.conf``.  ``/proc`` is the cage's
own (bwrap covers ``/proc/sys`` and ``/proc/sysrq-trigger`` read-only, and the kernel refuses
global sysctls to a user namespace anyway); ``/sys`` is absent.  The cage always gets its own
network namespace: loopback only for ``none`` and ``allowlist``, plus a user-mode network
stack (slirp4netns, see ``network``) for ``full``.  Nested user namespaces are disabled inside.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .identity import CAGE_UID_BASE, switches_uid

CAGE_WORKSPACE = "/workspace"
CAGE_HOME = "/root"
CAGE_RUN = "/.caged/run"
CAGE_PYTHON = "/usr/bin/python3"  # Debian's, in every template image
PROXY_PORT = 3128
CAGE_PATH = "/root/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The uid the probe runs as: in the cages' range but never handed out (the range starts above).
_PROBE_UID = CAGE_UID_BASE - 1


def as_uid(uid: int) -> list[str]:
    """The prefix that runs a command as ``uid`` (and the same gid, no supplementary groups)
    when the server is root; empty otherwise (the server's own uid is unprivileged)."""
    if not switches_uid():
        return []
    setpriv = shutil.which("setpriv") or "setpriv"
    return [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


@functools.cache
def bwrap_problem() -> str | None:
    """None when bwrap can build an unprivileged cage here; otherwise why not (tried once)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed"
    if switches_uid() and shutil.which("setpriv") is None:
        return "setpriv is not installed (util-linux)"
    probe = [
        *as_uid(_PROBE_UID),
        bwrap,
        "--unshare-user",
        "--uid",
        "0",
        "--gid",
        "0",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--hostname",
        "caged-probe",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap failed to run: {err}"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()
        return f"bwrap cannot create an unprivileged cage (user namespaces?): {reason}"
    return None


def bwrap_path() -> str | None:
    """The bwrap binary, when it works."""
    return shutil.which("bwrap") if bwrap_problem() is None else None


@dataclass(frozen=True, slots=True)
class AgentPython:
    """How to run the agent's interpreter."""

    executable: str


def agent_python(isolated: bool) -> AgentPython:
    """The template's Debian ``python3`` in a cage; unisolated, the host's (or this one)."""
    if isolated:
        return AgentPython(CAGE_PYTHON)
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return AgentPython(candidate)
    return AgentPython(os.path.realpath(sys.executable))


@dataclass(frozen=True, slots=True)
class CageMounts:
    """Host paths bound into a cage."""

    image: Path  # the template's root filesystem
    workspace: Path
    home: Path
    run_dir: Path  # also holds the cage's hosts, hostname and resolv.conf


def bwrap_argv(
    bwrap: str, *, sandbox_id: str, uid: int, mounts: CageMounts, info_fd: int
) -> list[str]:
    """The command line (``setpriv`` when root, then bwrap) up to and including ``--``;
    the agent command follows it."""
    run = mounts.run_dir
    return [
        *as_uid(uid),
        bwrap,
        # Without --die-with-parent: cages outlive the server that started them.
        "--new-session",  # no TIOCSTI into a terminal outside the cage
        "--unshare-user",
        "--uid",
        "0",
        "--gid",
        "0",
        "--disable-userns",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--unshare-cgroup-try",
        "--cap-drop",
        "ALL",
        "--hostname",
        sandbox_id,
        "--ro-bind",
        str(mounts.image),
        "/",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--bind",
        str(mounts.workspace),
        CAGE_WORKSPACE,
        "--bind",
        str(mounts.home),
        CAGE_HOME,
        "--ro-bind",
        str(run),
        CAGE_RUN,
        "--ro-bind",
        str(run / "hosts"),
        "/etc/hosts",
        "--ro-bind",
        str(run / "hostname"),
        "/etc/hostname",
        "--ro-bind",
        str(run / "resolv.conf"),
        "/etc/resolv.conf",
        "--chdir",
        CAGE_WORKSPACE,
        "--info-fd",
        str(info_fd),
        "--",
    ]


def cage_env(
    *, sandbox_id: str, network_mode: str, home: str, extra: dict[str, str]
) -> dict[str, str]:
    """The complete environment of a cage: nothing of the server's leaks in."""
    env = {
        "PATH": CAGE_PATH,
        "HOME": home,
        "USER": "root",
        "LOGNAME": "root",
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
        # Clients' terminals (caged-tui's included) draw 24-bit colour; without this,
        # truecolor programs fall back to 256 colours.
        "COLORTERM": "truecolor",
        "HOSTNAME": sandbox_id,
        "CAGED_SANDBOX_ID": sandbox_id,
    }
    if network_mode == "allowlist":
        proxy = f"http://127.0.0.1:{PROXY_PORT}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY"):
            env[name] = proxy
            env[name.lower()] = proxy
        # The cage's own loopback stays local (a dev server inside the cage must not be
        # fetched from the host); anything else goes to the filtering proxy.
        env["NO_PROXY"] = env["no_proxy"] = "localhost,127.0.0.1,::1"
    env.update(extra)
    return env
