"""Read a ``.caged.yaml`` (the official CLI's config-as-code) into create-form defaults.

The format is read leniently because people write it by hand and the CLI has
accepted several spellings: ``memory`` as ``2g``/``512m``/``1024``,
``network`` as a string or ``{mode, allowlist}``, ``repo`` as a URL or a
mapping, ``env`` as a mapping or ``KEY=value`` lines, lists or strings for
``packages`` and ``allowlist``. Unknown keys are ignored; a file that cannot be
parsed yields the defaults plus a warning — it never stops the form opening.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

FILE_NAME = ".caged.yaml"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|)\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FormDefaults:
    """Create-form field values as text, exactly as the form's inputs hold them.

    Empty strings mean "leave it to the server default".
    """

    template: str = "minimal"
    cpus: str = ""
    memory_mb: str = ""
    disk_gb: str = ""
    network_mode: str = "full"
    allowlist: str = ""
    env: str = ""
    repo: str = ""
    repo_branch: str = ""
    repo_commit: str = ""
    repo_subdir: str = ""
    budget: str = ""
    timeout: str = ""
    init_script: str = ""
    packages: str = ""
    source: str = ""
    warnings: tuple[str, ...] = field(default=())


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _words(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value if _text(item))
    return _text(value)


def _megabytes(value: Any, unit_if_bare: str) -> str:
    """``2g`` → 2048, ``512m`` → 512, a bare number in ``unit_if_bare`` (``m``/``g``)."""
    match = _SIZE.match(_text(value))
    if not match:
        return _text(value)
    number, unit = float(match.group(1)), (match.group(2)[:1] or unit_if_bare).lower()
    scale = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}[unit]
    return str(round(number * scale))


def _gigabytes(value: Any) -> str:
    megabytes = _megabytes(value, "g")
    return str(round(int(megabytes) / 1024)) if megabytes.isdigit() else megabytes


def _seconds(value: Any) -> str:
    match = _DURATION.match(_text(value))
    if not match:
        return _text(value)
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2).lower()]
    return str(int(match.group(1)) * scale)


def _env(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(f"{key}={_text(val)}" for key, val in value.items())
    if isinstance(value, list | tuple):
        return "\n".join(_text(item) for item in value)
    return _text(value)


def _lines(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(_text(item) for item in value)
    return "" if value is None else str(value).rstrip("\n")


def _first(data: dict[str, Any], *keys: str) -> Any:
    return next((data[key] for key in keys if data.get(key) is not None), None)


def parse(data: dict[str, Any]) -> dict[str, str]:
    """Map a parsed YAML mapping onto :class:`FormDefaults` field names."""
    values: dict[str, str] = {}
    sandbox = data.get("sandbox")
    if isinstance(sandbox, dict):  # some files nest everything under ``sandbox:``
        data = {**data, **sandbox}
    if (template := _first(data, "template", "image")) is not None:
        values["template"] = _text(template)
    if (cpus := _first(data, "cpus", "cpu")) is not None:
        values["cpus"] = _text(cpus)
    if (memory := _first(data, "memory_mb", "memory", "mem")) is not None:
        values["memory_mb"] = _megabytes(memory, "m")
    if (disk := _first(data, "disk_gb", "disk")) is not None:
        values["disk_gb"] = _gigabytes(disk)
    network = _first(data, "network_mode", "network")
    if isinstance(network, dict):
        if network.get("mode") is not None:
            values["network_mode"] = _text(network["mode"])
        if (hosts := _first(network, "allowlist", "allow", "hosts")) is not None:
            values["allowlist"] = _words(hosts)
    elif network is not None:
        values["network_mode"] = _text(network)
    if (hosts := _first(data, "allowlist", "allow")) is not None:
        values["allowlist"] = _words(hosts)
    if (env := _first(data, "env", "environment")) is not None:
        values["env"] = _env(env)
    repo = data.get("repo")
    if isinstance(repo, dict):
        for key, target in (
            ("url", "repo"),
            ("branch", "repo_branch"),
            ("commit", "repo_commit"),
            ("subdir", "repo_subdir"),
        ):
            if repo.get(key) is not None:
                values[target] = _text(repo[key])
    elif repo is not None:
        values["repo"] = _text(repo)
    for key in ("repo_branch", "repo_commit", "repo_subdir"):
        if data.get(key) is not None:
            values[key] = _text(data[key])
    if (budget := _first(data, "budget", "budget_usd")) is not None:
        values["budget"] = _text(budget).lstrip("$")
    if (timeout := _first(data, "timeout", "idle_timeout")) is not None:
        values["timeout"] = _seconds(timeout)
    if (script := _first(data, "init_script", "init", "setup")) is not None:
        values["init_script"] = _lines(script)
    if (packages := data.get("packages")) is not None:
        values["packages"] = _words(packages)
    return values


def load(directory: Path) -> FormDefaults:
    """Defaults from ``directory/.caged.yaml``, or plain defaults when there is none."""
    path = directory / FILE_NAME
    if not path.is_file():
        return FormDefaults()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        return FormDefaults(warnings=(f"{path}: could not be read ({error})",))
    if not isinstance(data, dict):
        return FormDefaults(warnings=(f"{path}: expected a mapping at the top level",))
    known = {f.name for f in fields(FormDefaults)}
    values: dict[str, Any] = {key: val for key, val in parse(data).items() if key in known}
    return replace(FormDefaults(), source=_shown(path), **values)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (shorter)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
