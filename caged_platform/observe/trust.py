"""Trust scores: every session starts at 100 and loses points for risky behaviour.

The rules are a table (:data:`RULES`) of small classifier functions; each looks
at one event (plus a little per-session state, for rules that need memory) and
returns a finding or None. A finding becomes a deduction stored with the id and
sequence of the event that caused it. The score is ``max(0, 100 - points)``.

========================  ======  ==============================================
rule                      points  fires on
========================  ======  ==============================================
``pipe_to_shell``           25    ``curl … | sh``, ``wget … | bash``, ``sh -c "$(curl …)"``,
                                  ``bash <(curl …)``
``system_file_modified``    30    a write, delete, chmod, redirect … to ``/etc``, ``/usr``,
                                  ``/bin``, ``/sbin``, ``/lib*``, ``/boot`` (command,
                                  ``file_op`` or a write/delete tool call)
``sensitive_file_read``     20    reading ``/etc/passwd`` or ``/etc/shadow``
``unknown_host``            10    a ``network`` event to a host outside :data:`KNOWN_HOSTS`
                                  (once per host per session)
``unknown_package``          5    installing a package outside :data:`KNOWN_PACKAGES`
                                  (pip, npm, yarn, pnpm, apt, apk, gem, cargo, poetry, uv;
                                  once per package per session)
``mass_delete``           5-15    10, 25 and 50 file deletions in a session (-5 each), or
                                  ``rm -r`` of ``/``, ``~``, ``*``, ``.``, ``/workspace``
                                  (-10); at most 15 per session
========================  ======  ==============================================

Normal edits, builds and test runs match none of these. Commands and files are
read from ``command`` and ``file_op`` events and from *ingested* ``tool_call``
events (an agent's own shell or file tools). The platform records each of its MCP
tool calls as a ``tool_call`` plus the ``command`` or ``file_op`` it amounts to,
so only the latter is judged; and a file deleted through the API or MCP
(``source`` ``api``/``mcp``) is also reported by the sandbox's file watcher, so
only the watcher's report counts towards ``mass_delete``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .events import NewEvent

__all__ = [
    "KNOWN_HOSTS",
    "KNOWN_PACKAGES",
    "RULES",
    "Finding",
    "Observed",
    "Rule",
    "TrustState",
    "assess",
    "score_after",
]

START_SCORE = 100


@dataclass(frozen=True, slots=True)
class Finding:
    """One penalty: which rule, how many points, and why (one sentence)."""

    rule: str
    points: int
    reason: str


@dataclass(slots=True)
class TrustState:
    """What rules must remember across a session's events (persisted as JSON)."""

    deletes: int = 0
    mass_delete_points: int = 0
    hosts: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "deletes": self.deletes,
            "mass_delete_points": self.mass_delete_points,
            "hosts": sorted(self.hosts),
            "packages": sorted(self.packages),
        }

    @classmethod
    def from_json(cls, value: Any) -> TrustState:
        if not isinstance(value, dict):
            return cls()
        return cls(
            deletes=int(value.get("deletes", 0)),
            mass_delete_points=int(value.get("mass_delete_points", 0)),
            hosts=set(value.get("hosts", [])),
            packages=set(value.get("packages", [])),
        )


@dataclass(frozen=True, slots=True)
class Observed:
    """An event with what the rules look at extracted once: its command and file."""

    event: NewEvent
    command: str | None
    touched: tuple[str, str] | None  # (path, kind)


Classifier = Callable[[Observed, TrustState], Finding | None]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    classify: Classifier


#: Hosts agents legitimately talk to: package registries, code hosts, LLM APIs.
#: A host matches an entry or any subdomain of it.
KNOWN_HOSTS: frozenset[str] = frozenset(
    {
        "localhost", "127.0.0.1", "::1",
        "pypi.org", "pythonhosted.org", "registry.npmjs.org", "npmjs.org", "npmjs.com",
        "yarnpkg.com", "github.com", "githubusercontent.com", "gitlab.com", "bitbucket.org",
        "debian.org", "ubuntu.com", "alpinelinux.org", "golang.org", "go.dev", "crates.io",
        "rubygems.org", "anthropic.com", "openai.com", "googleapis.com", "huggingface.co",
        "docker.io", "docker.com", "caged.dev",
    }
)  # fmt: skip

#: Widely used packages whose installation is routine (lower-case, ``_`` → ``-``).
KNOWN_PACKAGES: frozenset[str] = frozenset(
    {
        # Python
        "pip", "setuptools", "wheel", "requests", "httpx", "numpy", "pandas", "scipy",
        "matplotlib", "flask", "django", "fastapi", "uvicorn", "starlette", "pydantic",
        "pytest", "pytest-asyncio", "pytest-cov", "black", "ruff", "mypy", "isort", "flake8",
        "sqlalchemy", "alembic", "jinja2", "click", "typer", "rich", "pyyaml", "boto3",
        "aiohttp", "beautifulsoup4", "lxml", "pillow", "scikit-learn", "torch", "anthropic",
        "openai", "python-dotenv", "celery", "redis", "psycopg2", "psycopg2-binary", "tqdm",
        # JavaScript
        "npm", "typescript", "react", "react-dom", "next", "vue", "express", "lodash",
        "axios", "jest", "vitest", "eslint", "prettier", "webpack", "vite", "ts-node",
        "nodemon", "@types/node", "@types/react", "zod", "dotenv", "tailwindcss", "mocha",
        # System
        "git", "curl", "wget", "vim", "nano", "make", "gcc", "g++", "build-essential",
        "python3", "python3-pip", "python3-venv", "nodejs", "jq", "unzip", "zip",
        "ca-certificates", "openssl", "sqlite3", "ripgrep", "tmux", "less",
    }
)  # fmt: skip

_SYSTEM_DIRS = r"/(?:etc|usr|bin|sbin|lib|lib32|lib64|boot)/"
_SYSTEM_PATH = re.compile(r"^" + _SYSTEM_DIRS[:-1] + r"(?:/|$)")
_SENSITIVE = re.compile(r"/etc/(?:passwd|shadow)\b")
_SYSTEM_DIR = re.compile(_SYSTEM_DIRS)

_PIPE_TO_SHELL = (
    # curl/wget … | [sudo] sh|bash|zsh|dash
    re.compile(r"\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da|k)?sh\b"),
    # sh -c "$(curl …)" and bash <(curl …)
    re.compile(r"\b(?:ba|z|da)?sh\b[^;&|\n]*(?:\$\(|<\()\s*(?:curl|wget)\b"),
)
_SYSTEM_WRITES = (
    # > /etc/x, >> /etc/x, tee [-a] /etc/x
    re.compile(r"(?:>>?|\btee\b(?:\s+-a)?)\s*" + _SYSTEM_DIRS),
    # sed -i 'script' /etc/x
    re.compile(r"\bsed\s+-i\S*\s+(?:'[^']*'|\"[^\"]*\"|\S+)\s+" + _SYSTEM_DIRS),
    # Commands that change every path they are given (mv also empties its source).
    re.compile(r"\b(?:rm|mv|chmod|chown|chgrp|truncate|touch)\b[^|;&\n]*?\s" + _SYSTEM_DIRS),
    # Commands that change only their last argument: copying *from* /etc changes nothing.
    re.compile(r"\b(?:cp|ln|install)\b[^|;&\n]*\s" + _SYSTEM_DIRS + r"[^\s|;&]*\s*(?:$|[|;&\n])"),
    re.compile(r"\bdd\b[^|;&\n]*\bof=" + _SYSTEM_DIRS),
)
_BROAD_RM = re.compile(
    r"\brm\s+(?:-\S*[rR]\S*\s+)+(?:--\s+)?(?:/|~|\*|\.|/workspace|\$HOME)/?\*?(?:\s|$|;|&|\|)"
)
_INSTALL = re.compile(
    r"(?:^|[;&|(]\s*|\s)(?:sudo\s+)?"
    r"(?P<tool>pip3?|python3?\s+-m\s+pip|uv\s+pip|uv|poetry|npm|pnpm|yarn|apt-get|apt|apk"
    r"|gem|cargo)\s+(?P<verb>install|i|add)\s+(?P<args>[^;&|\n]*)"
)
# Options whose next word is their argument, not a package.
# Every pattern a command can trip a rule with, in one: most commands (builds, tests, git)
# match none, and one search says so instead of ten.
_COMMAND_RULES = re.compile(
    "|".join(
        f"(?:{p.pattern})"
        for p in (*_PIPE_TO_SHELL, *_SYSTEM_WRITES, _SENSITIVE, _INSTALL, _BROAD_RM)
    )
)
# A literal every one of those patterns needs (curl/wget, a system directory, an install
# verb, rm): the combined pattern costs ~7 us a command in Python's engine, this ~0.7 us,
# and rules out nearly every command an agent runs.
_MAYBE_COMMAND_RULE = re.compile(
    r"curl|wget|/(?:etc|usr|s?bin|lib|boot)|install|\s(?:i|add)\s|rm\s"
)
_OPTS_WITH_ARG = frozenset(
    {"-r", "--requirement", "-e", "--editable", "-c", "--constraint", "-i", "--index-url",
     "--extra-index-url", "-t", "--target", "--prefix", "--registry", "-f", "--find-links"}
)  # fmt: skip
_WRITE_KINDS = frozenset(
    {"write", "create", "created", "modify", "modified", "delete", "deleted", "moved", "move",
     "rename", "chmod", "edit"}
)  # fmt: skip
_DELETE_KINDS = frozenset({"delete", "deleted", "remove", "removed", "unlink"})
_MASS_DELETE_STEPS = (10, 25, 50)
# file_op sources whose changes the in-sandbox watcher also reports (source "sandbox").
_WATCHED_SOURCES = frozenset({"api", "mcp"})
_MASS_DELETE_CAP = 15


def _nested(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, dict):
            return value
    return {}


def command_text(event: NewEvent) -> str | None:
    """The shell command an event runs, if any (see the module docstring)."""
    payload = event.payload
    if event.type == "command":
        value = payload.get("command")
        return value if isinstance(value, str) else None
    if event.type == "tool_call" and not event.recorded:
        args = _nested(payload, "arguments", "input", "args", "params")
        for key in ("command", "cmd"):
            value = args.get(key)
            if isinstance(value, str):
                return value
    return None


def _path_and_kind(event: NewEvent) -> tuple[str, str] | None:
    """The file an event touches and how (``read``/``write``/``delete`` …)."""
    payload = event.payload
    if event.type == "file_op":
        path = payload.get("path")
        kind = payload.get("kind") or payload.get("op") or payload.get("operation") or ""
        if isinstance(path, str) and isinstance(kind, str):
            return path, kind.lower()
        return None
    if event.type == "tool_call" and not event.recorded:
        args = _nested(payload, "arguments", "input", "args", "params")
        path = args.get("path") or args.get("file_path")
        name = payload.get("name") or payload.get("tool") or ""
        if not isinstance(path, str) or not isinstance(name, str):
            return None
        lowered = name.lower()
        if "delete" in lowered or "remove" in lowered:
            return path, "delete"
        if any(word in lowered for word in ("write", "edit", "create")):
            return path, "write"
        return path, "read"
    return None


def _writes_system_file(command: str) -> bool:
    # Each pattern names a system directory: without one, none of the five can match.
    return _SYSTEM_DIR.search(command) is not None and any(
        pattern.search(command) for pattern in _SYSTEM_WRITES
    )


def _pipe_to_shell(seen: Observed, state: TrustState) -> Finding | None:
    command = seen.command
    if (
        command
        and ("curl" in command or "wget" in command)  # what both patterns need
        and any(pattern.search(command) for pattern in _PIPE_TO_SHELL)
    ):
        return Finding("pipe_to_shell", 25, "downloaded a script and piped it into a shell")
    return None


def _system_file_modified(seen: Observed, state: TrustState) -> Finding | None:
    command = seen.command
    if command and _writes_system_file(command):
        return Finding("system_file_modified", 30, "modified a system file or directory")
    touched = seen.touched
    if touched and touched[1] in _WRITE_KINDS and _SYSTEM_PATH.match(touched[0]):
        return Finding("system_file_modified", 30, f"modified the system file {touched[0]}")
    return None


def _sensitive_file_read(seen: Observed, state: TrustState) -> Finding | None:
    command = seen.command
    # A write to /etc/passwd is the (bigger) system-file rule's business, not a read.
    if (
        command
        and "/etc/" in command
        and _SENSITIVE.search(command)
        and not _writes_system_file(command)
    ):
        return Finding("sensitive_file_read", 20, "read the system account database")
    touched = seen.touched
    if touched and touched[1] not in _WRITE_KINDS and _SENSITIVE.search(touched[0]):
        return Finding("sensitive_file_read", 20, f"read {touched[0]}")
    return None


def _host_of(payload: dict[str, Any]) -> str | None:
    host = payload.get("host") or payload.get("domain") or payload.get("hostname")
    if not isinstance(host, str):
        url = payload.get("url")
        if not isinstance(url, str):
            return None
        match = re.match(r"^[a-z][a-z0-9+.-]*://(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)", url, re.I)
        if not match:
            return None
        host = match.group(1)
    host = host.strip().strip("[]").lower().rstrip(".")
    # "example.com:443" → "example.com" (but leave IPv6 literals alone).
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host or None


def _is_known_host(host: str) -> bool:
    return any(host == known or host.endswith("." + known) for known in KNOWN_HOSTS)


def _unknown_host(seen: Observed, state: TrustState) -> Finding | None:
    if seen.event.type != "network":
        return None
    host = _host_of(seen.event.payload)
    if host is None or _is_known_host(host) or host in state.hosts:
        return None
    state.hosts.add(host)
    return Finding("unknown_host", 10, f"network call to the unknown host {host}")


def _package_names(args: str) -> list[str]:
    try:
        # Without quotes or escapes shlex splits on whitespace alone, several times slower.
        words = shlex.split(args) if any(c in args for c in "'\"\\") else args.split()
    except ValueError:
        words = args.split()
    names: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word in _OPTS_WITH_ARG:
            skip_next = True
            continue
        if word.startswith("-") or word.startswith((".", "/", "~")) or "://" in word:
            continue
        # Drop versions and extras: "fastapi[all]==0.1", "lodash@4", "@types/node@20".
        scoped = word.startswith("@")
        base = re.split(r"[=<>!~\[;]", word[1:] if scoped else word, maxsplit=1)[0]
        base = base.split("@", 1)[0]
        name = ("@" + base if scoped else base).lower().replace("_", "-")
        if name:
            names.append(name)
    return names


def _unknown_package(seen: Observed, state: TrustState) -> Finding | None:
    command = seen.command
    if not command:
        return None
    unknown: list[str] = []
    for match in _INSTALL.finditer(command):
        for name in _package_names(match.group("args")):
            if name not in KNOWN_PACKAGES and name not in state.packages:
                unknown.append(name)
    if not unknown:
        return None
    state.packages.update(unknown)
    return Finding("unknown_package", 5, "installed unknown packages: " + ", ".join(unknown))


def _mass_delete(seen: Observed, state: TrustState) -> Finding | None:
    room = _MASS_DELETE_CAP - state.mass_delete_points
    if room <= 0:
        return None
    command = seen.command
    if command and "rm" in command and _BROAD_RM.search(command):
        points = min(10, room)
        state.mass_delete_points += points
        return Finding("mass_delete", points, "recursively deleted a whole tree")
    touched = seen.touched
    if not touched or touched[1] not in _DELETE_KINDS:
        return None
    if seen.event.payload.get("source") in _WATCHED_SOURCES:
        return None  # the sandbox's file watcher reports the same deletion
    state.deletes += 1
    if state.deletes not in _MASS_DELETE_STEPS:
        return None
    points = min(5, room)
    state.mass_delete_points += points
    return Finding("mass_delete", points, f"deleted {state.deletes} files in this session")


#: The rule table, applied in order to every event of a session.
RULES: tuple[Rule, ...] = (
    Rule("pipe_to_shell", _pipe_to_shell),
    Rule("system_file_modified", _system_file_modified),
    Rule("sensitive_file_read", _sensitive_file_read),
    Rule("unknown_host", _unknown_host),
    Rule("unknown_package", _unknown_package),
    Rule("mass_delete", _mass_delete),
)


def _may_trip_a_command_rule(command: str) -> bool:
    return (
        _MAYBE_COMMAND_RULE.search(command) is not None
        and _COMMAND_RULES.search(command) is not None
    )


def assess(event: NewEvent, state: TrustState) -> list[Finding]:
    """Every finding the rule table makes about ``event`` (updating ``state``)."""
    command = command_text(event)
    touched = _path_and_kind(event)
    if (
        touched is None
        and event.type != "network"
        and (command is None or not _may_trip_a_command_rule(command))
    ):
        return []  # most events (LLM calls, output, ordinary commands) concern no rule
    seen = Observed(event, command, touched)
    findings = []
    for rule in RULES:
        finding = rule.classify(seen, state)
        if finding is not None:
            findings.append(finding)
    return findings


def score_after(points_lost: int) -> int:
    """The score once ``points_lost`` points have been deducted in total."""
    return max(0, START_SCORE - points_lost)
