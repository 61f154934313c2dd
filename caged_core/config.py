"""Profiles, preferences and credentials.

The config file is ``config.json`` in ``platformdirs.user_config_dir("caged-tui")``
(``$XDG_CONFIG_HOME/caged-tui`` on Linux). It never holds a secret::

    {
      "default_profile": "cloud",
      "profiles": {"cloud": {"base_url": "https://api.caged.dev"},
                   "staging": {"base_url": "https://staging.example"}},
      "theme": "textual-dark",
      "keymap": {"sandboxes.refresh": "r,f5"}
    }

Two profiles always exist: ``cloud`` (``https://api.caged.dev``) and
``local`` — the embedded platform. Its URL changes with every start, so it
is never stored: it is discovered at run time from the running server's
lock file (:mod:`caged_core.locator`); starting the server is the
caller's business (``caged_platform.service.ensure_running``).

Precedence, highest first:

- **API key**: the explicit argument; ``CAGED_API_KEY``; the OS keyring
  (service ``caged-tui``, username = profile name); the official CLI's
  ``~/.config/caged/config.json`` (``api_key``); for ``local`` only, last,
  the key file the embedded platform keeps in its data dir.
- **Base URL**: the explicit argument; ``CAGED_API_URL``; the official CLI's
  ``api_url`` when the key came from that file (key and URL are a pair
  there); the profile's ``base_url`` (``local``: the running server's URL);
  ``https://api.caged.dev``.
- **Profile**: the explicit argument; ``CAGED_PROFILE``; the file's
  ``default_profile``; ``cloud``.

Keys are written only to the keyring. Where no keyring backend exists,
:func:`save_api_key` says so (:class:`CagedConfigError`) and the caller falls
back to the environment — never to a plain file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import platformdirs

from caged_core import locator
from caged_core.errors import CagedConfigError

__all__ = [
    "CLOUD_PROFILE",
    "DEFAULT_BASE_URL",
    "KEYRING_SERVICE",
    "LOCAL_PROFILE",
    "Credentials",
    "Preferences",
    "Profile",
    "Settings",
    "cli_config_path",
    "config_path",
    "delete_api_key",
    "keyring_available",
    "load_api_key",
    "load_preferences",
    "load_settings",
    "resolve_credentials",
    "save_api_key",
    "save_preferences",
    "save_profile",
    "save_settings",
]

DEFAULT_BASE_URL = "https://api.caged.dev"
CLOUD_PROFILE = "cloud"
LOCAL_PROFILE = "local"
KEYRING_SERVICE = "caged-tui"
ENV_API_KEY = "CAGED_API_KEY"
ENV_API_URL = "CAGED_API_URL"
ENV_PROFILE = "CAGED_PROFILE"


# --------------------------------------------------------------------------- files


def config_path() -> Path:
    """Where caged-tui keeps its (secret-free) config file."""
    return Path(platformdirs.user_config_dir("caged-tui")) / "config.json"


def cli_config_path() -> Path:
    """The official Caged CLI's config file, read as a last resort."""
    return Path.home() / ".config" / "caged" / "config.json"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise CagedConfigError(f"cannot read {path}: {err.strerror}") from err
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise CagedConfigError(f"{path} is not valid JSON (line {err.lineno})") from None
    if not isinstance(value, dict):
        raise CagedConfigError(f"{path} must contain a JSON object")
    return value


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Profile:
    """A named platform. ``base_url`` is ``None`` for ``local`` (known at run time)."""

    name: str
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class Preferences:
    """How the TUI looks and which keys it uses.

    Attributes:
        theme: the Textual theme name, or ``None`` for the app's default.
        keymap: binding id → comma-separated keys, overriding the defaults.
    """

    theme: str | None = None
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _builtin_profiles() -> dict[str, Profile]:
    return {
        CLOUD_PROFILE: Profile(CLOUD_PROFILE, DEFAULT_BASE_URL),
        LOCAL_PROFILE: Profile(LOCAL_PROFILE, None),
    }


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in the config file.

    Attributes:
        profiles: name → :class:`Profile`; ``cloud`` and ``local`` always exist.
        default_profile: used when neither an argument nor ``CAGED_PROFILE`` names one.
        preferences: theme and keymap overrides.
    """

    profiles: Mapping[str, Profile] = field(default_factory=_builtin_profiles)
    default_profile: str = CLOUD_PROFILE
    preferences: Preferences = field(default_factory=Preferences)

    def profile(self, name: str) -> Profile:
        """The profile called ``name``; an unknown name is a config error."""
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise CagedConfigError(f"unknown profile {name!r} (known: {known})") from None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Settings:
        """Read the file's content; ignores anything it does not know (and any secret)."""
        profiles = _builtin_profiles()
        raw_profiles = data.get("profiles")
        if isinstance(raw_profiles, dict):
            for name, entry in raw_profiles.items():
                url = entry.get("base_url") if isinstance(entry, dict) else None
                if name == LOCAL_PROFILE:
                    continue  # the local URL changes every run; never pinned here
                profiles[str(name)] = Profile(str(name), str(url) if url else DEFAULT_BASE_URL)
        keymap = data.get("keymap")
        theme = data.get("theme")
        default = data.get("default_profile")
        return cls(
            profiles=profiles,
            default_profile=str(default) if default else CLOUD_PROFILE,
            preferences=Preferences(
                theme=str(theme) if theme else None,
                keymap=MappingProxyType(
                    {str(k): str(v) for k, v in keymap.items()} if isinstance(keymap, dict) else {}
                ),
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The file's content (profiles other than ``local``, preferences)."""
        data: dict[str, Any] = {
            "default_profile": self.default_profile,
            "profiles": {
                p.name: {"base_url": p.base_url}
                for p in self.profiles.values()
                if p.name != LOCAL_PROFILE and p.base_url
            },
            "keymap": dict(self.preferences.keymap),
        }
        if self.preferences.theme:
            data["theme"] = self.preferences.theme
        return data


def load_settings(path: Path | None = None) -> Settings:
    """The config file's settings (defaults when it does not exist)."""
    return Settings.from_json(_read_json(path or config_path()))


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the config file atomically (creating its directory)."""
    target = path or config_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".config.", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(settings.to_json(), out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def load_preferences(path: Path | None = None) -> Preferences:
    """Theme and keymap from the config file."""
    return load_settings(path).preferences


def save_preferences(
    *,
    theme: str | None = None,
    keymap: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> None:
    """Remember the theme and/or keymap overrides (``None`` leaves one as it is)."""
    settings = load_settings(path)
    prefs = settings.preferences
    updated = Preferences(
        theme=prefs.theme if theme is None else theme,
        keymap=prefs.keymap if keymap is None else MappingProxyType(dict(keymap)),
    )
    save_settings(replace(settings, preferences=updated), path)


def save_profile(
    name: str, base_url: str, *, make_default: bool = False, path: Path | None = None
) -> None:
    """Add or change a hosted profile (its key goes to :func:`save_api_key`)."""
    if name == LOCAL_PROFILE:
        raise CagedConfigError("the local profile's URL is found when the platform starts")
    settings = load_settings(path)
    profiles = dict(settings.profiles) | {name: Profile(name, base_url.rstrip("/"))}
    save_settings(
        replace(
            settings,
            profiles=profiles,
            default_profile=name if make_default else settings.default_profile,
        ),
        path,
    )


# --------------------------------------------------------------------------- keyring


def _keyring() -> Any:
    """The keyring package, imported on first use: loading it and its backends costs
    ~16 ms, on the path to the first frame, where a key from ``CAGED_API_KEY`` (or an
    explicit one) never needs it."""
    import keyring
    import keyring.errors

    return keyring


def keyring_available() -> bool:
    """Whether an OS keyring backend exists to store keys in."""
    keyring = _keyring()
    try:
        backend = keyring.get_keyring()
    except keyring.errors.KeyringError:
        return False
    priority = getattr(backend, "priority", 0)
    return bool(priority and priority > 0)


def save_api_key(profile: str, key: str) -> None:
    """Store ``key`` for ``profile`` in the OS keyring — nowhere else."""
    if not keyring_available():
        raise CagedConfigError(
            "No system keyring is available, so the API key was not saved; "
            f"set {ENV_API_KEY} in your environment instead."
        )
    keyring = _keyring()
    try:
        keyring.set_password(KEYRING_SERVICE, profile, key)
    except keyring.errors.KeyringError as err:
        raise CagedConfigError(f"the keyring refused to store the key: {err}") from None


def load_api_key(profile: str) -> str | None:
    """The key stored for ``profile``, or ``None`` (also when there is no keyring)."""
    keyring = _keyring()
    try:
        return keyring.get_password(KEYRING_SERVICE, profile) or None
    except keyring.errors.KeyringError:
        return None


def delete_api_key(profile: str) -> None:
    """Forget the key stored for ``profile`` (no error if there is none)."""
    keyring = _keyring()
    try:
        keyring.delete_password(KEYRING_SERVICE, profile)
    except keyring.errors.PasswordDeleteError:
        pass
    except keyring.errors.KeyringError as err:
        raise CagedConfigError(f"the keyring refused to delete the key: {err}") from None


# --------------------------------------------------------------------------- resolution


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where to connect and with what.

    Attributes:
        base_url: the platform's URL (without ``/v1``).
        api_key: the secret key (left out of the repr).
        source: where the key came from, in words, for the UI.
        profile: the profile that was resolved.
    """

    base_url: str
    api_key: str = field(repr=False)
    source: str
    profile: str


@dataclass(frozen=True, slots=True)
class _LocalPlatform:
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)


def _discover_local() -> _LocalPlatform:
    """The running embedded platform's URL and its key file, if any."""
    running = locator.status()
    key = locator.read_key()
    return _LocalPlatform(base_url=running.url if running.running else None, api_key=key)


def _cli_config() -> tuple[str | None, str | None]:
    try:
        data = _read_json(cli_config_path())
    except CagedConfigError:
        return None, None  # someone else's broken file must not stop us
    key, url = data.get("api_key"), data.get("api_url")
    return (key if isinstance(key, str) and key else None), (
        url if isinstance(url, str) and url else None
    )


def resolve_credentials(
    profile: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    *,
    settings: Settings | None = None,
) -> Credentials:
    """Find the key and URL in the order the module docstring gives.

    Raises :class:`CagedConfigError` when no key is found anywhere, or when
    the ``local`` profile is chosen but its server is not running.
    """
    settings = settings or load_settings()
    name = profile or os.environ.get(ENV_PROFILE) or settings.default_profile
    chosen = settings.profile(name)
    cli_key, cli_url = _cli_config()
    key, source, paired_url = api_key, "argument", None
    if key is None and os.environ.get(ENV_API_KEY):
        key, source = os.environ[ENV_API_KEY], f"environment ({ENV_API_KEY})"
    if key is None:
        key, source = load_api_key(name), f"keyring (profile {name!r})"
    if key is None and cli_key is not None:
        key, source, paired_url = cli_key, f"official CLI config ({cli_config_path()})", cli_url
    local = _discover_local() if name == LOCAL_PROFILE else None
    if key is None and local is not None and local.api_key:
        key, source = local.api_key, "the local platform's key file"
    if key is None:
        hint = "" if keyring_available() else " (no keyring is available on this system)"
        raise CagedConfigError(
            f"no API key for profile {name!r}: pass one, set {ENV_API_KEY}, "
            f"or save one with 'caged-tui' login{hint}"
        )
    profile_url = local.base_url if local is not None else chosen.base_url
    url = base_url or os.environ.get(ENV_API_URL) or paired_url or profile_url
    if not url:
        raise CagedConfigError(
            "the embedded local platform is not running; "
            f"start it with 'caged-tui serve', or set {ENV_API_URL}"
        )
    return Credentials(base_url=url.rstrip("/"), api_key=key, source=source, profile=name)
