"""Bubblewrap: whether it works here, and the command line that builds a cage.

The cage's root is a fresh tmpfs holding read-only binds of the host's top-level entries, except
the ones that must stay private: ``/root``, ``/home``, ``/tmp`` (private tmpfs) and the platform's
data dir.  On top come the cage's own binds: ``/workspace`` (read-write), ``/root`` (the cage's
own persistent home) and ``/.caged/run`` (read-only: the agent's socket and the allowlist proxy's
socket).  Finally the root itself is remounted read-only.  (Binding ``/`` whole would not work:
a read-only root has no place to create ``/workspace``.)
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CAGE_WORKSPACE = "/workspace"
CAGE_HOME = "/root"
CAGE_RUN = "/.caged/run"
CAGE_PYTHON_PREFIX = "/.caged/python"
PROXY_PORT = 3128
CAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Host top-level entries never shown to a cage (they are replaced by private ones).
_PRIVATE_TOP = frozenset({"proc", "dev", "tmp", "root", "home", "lost+found", "workspace"})
_HIDDEN_TOP = ("/root", "/home", "/tmp")


@functools.cache
def bwrap_problem() -> str | None:
    """None when bwrap can build a cage here; otherwise why not (tried once, cached)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed"
    probe = [
        bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
        "--cap-drop", "ALL", "--hostname", "caged-probe", "--ro-bind", "/", "/",
        "--proc", "/proc", "--dev", "/dev", "--", "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap failed to run: {err}"
    if done.returncode != 0:
        return f"bwrap cannot create namespaces: {done.stderr.decode(errors='replace').strip()}"
    return None


def bwrap_path() -> str | None:
    """The bwrap binary, when it works."""
    return shutil.which("bwrap") if bwrap_problem() is None else None


@dataclass(frozen=True, slots=True)
class AgentPython:
    """How to run the agent's interpreter: the executable, and a host prefix to bind when the
    interpreter lives somewhere the cage cannot see."""

    executable: str
    host_prefix: str | None = None


def agent_python(isolated: bool) -> AgentPython:
    """Debian's ``/usr/bin/python3`` when present (stdlib only, outside hidden dirs); otherwise
    this interpreter's base prefix, bound read-only at ``/.caged/python`` inside a cage."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return AgentPython(candidate)
    executable = os.path.realpath(sys.executable)
    if not isolated:
        return AgentPython(executable)
    prefix = os.path.realpath(sys.base_prefix)
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return AgentPython(f"{CAGE_PYTHON_PREFIX}/bin/{name}", host_prefix=prefix)


def _is_within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def bwrap_argv(
    bwrap: str,
    *,
    sandbox_id: str,
    network_mode: str,
    workspace: Path,
    home: Path,
    run_dir: Path,
    data_dir: Path,
    python: AgentPython,
    info_fd: int,
) -> list[str]:
    """The bwrap command line up to and including ``--``; the agent command follows it."""
    argv = [
        bwrap,
        # Without --die-with-parent: cages outlive the server that started them.
        "--new-session",  # no TIOCSTI into a terminal outside the cage
        "--cap-drop", "ALL",
        "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--hostname", sandbox_id,
    ]
    if network_mode in ("none", "allowlist"):
        argv.append("--unshare-net")  # loopback only; allowlist traffic leaves via the agent
        # Ports below 1024 on the cage's own loopback harm nobody (on the host's network
        # they would be the host's).
        argv += ["--cap-add", "CAP_NET_BIND_SERVICE"]
    for entry in sorted(os.scandir("/"), key=lambda e: e.name):
        if entry.name in _PRIVATE_TOP or entry.name == ".caged":
            continue
        if entry.is_symlink():
            argv += ["--symlink", os.readlink(entry.path), entry.path]
        else:
            argv += ["--ro-bind", entry.path, entry.path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
             "--dir", "/home"]
    data = os.path.realpath(data_dir)
    if not any(_is_within(data, hidden) for hidden in _HIDDEN_TOP):
        # The data dir sits under a bound entry (e.g. /var/lib/...): cover it.  This comes
        # before the cage's own binds, whose sources are read from the host's tree anyway.
        argv += ["--tmpfs", data, "--remount-ro", data]
    if python.host_prefix is not None:
        argv += ["--ro-bind", python.host_prefix, CAGE_PYTHON_PREFIX]
    argv += [
        "--bind", str(workspace), CAGE_WORKSPACE,
        "--bind", str(home), CAGE_HOME,
        "--ro-bind", str(run_dir), CAGE_RUN,
        "--remount-ro", "/",
        "--chdir", CAGE_WORKSPACE,
        "--info-fd", str(info_fd),
        "--",
    ]
    return argv


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
