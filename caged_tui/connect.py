"""Turn a profile into a connected client and the app's settings.

Used by the CLI at start-up and by the app when the user switches profile.
Which platform to use, in order:

1. ``--local`` or the ``local`` profile: the embedded platform (started if needed);
2. an explicit ``--profile``/``--base-url``: that hosted platform — a missing
   key is a :class:`~caged_core.errors.CagedConfigError`;
3. no choice made: the hosted default when a key is configured, else local.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from caged_core import config
from caged_core.client import AsyncCaged
from caged_core.errors import CagedConfigError
from caged_tui.settings import DEFAULT_THEME, LOCAL_PROFILE, Settings


@dataclass(frozen=True, slots=True)
class Session:
    """A client and the settings describing what it is connected to."""

    client: AsyncCaged
    settings: Settings


#: Builds a :class:`Session` for a profile name (blocking: it may start the local platform).
Connector = Callable[[str], Session]


def _preferences() -> tuple[str, dict[str, str]]:
    """Theme and keymap from the config file (defaults when it has none)."""
    prefs = config.load_preferences()
    return prefs.theme or DEFAULT_THEME, dict(prefs.keymap)


def open_local(data_dir: Path | None = None) -> Session:
    """Start (or find) the embedded local platform and connect to it."""
    # Imported here: the platform (server, runtime) is only needed on this path.
    from caged_platform.service import ensure_running

    url, api_key = ensure_running(data_dir=data_dir)
    theme, keymap = _preferences()
    settings = Settings(
        profile=LOCAL_PROFILE,
        base_url=url,
        local=True,
        theme=theme,
        keymap=keymap,
        data_dir=data_dir,
    )
    return Session(AsyncCaged(api_key=api_key, base_url=url), settings)


def open_hosted(profile: str | None, *, base_url: str | None = None) -> Session:
    """Connect to a hosted profile; raises CagedConfigError when it has no key."""
    credentials = config.resolve_credentials(profile=profile, base_url=base_url)
    theme, keymap = _preferences()
    settings = Settings(
        profile=profile or credentials.profile,
        base_url=credentials.base_url,
        local=False,
        theme=theme,
        keymap=keymap,
    )
    return Session(AsyncCaged(api_key=credentials.api_key, base_url=credentials.base_url), settings)


def open_session(
    profile: str | None = None,
    *,
    local: bool = False,
    base_url: str | None = None,
    data_dir: Path | None = None,
) -> Session:
    """Pick the platform as the module docstring describes and connect to it."""
    if local or profile == LOCAL_PROFILE:
        return open_local(data_dir)
    if profile is not None or base_url is not None:
        return open_hosted(profile, base_url=base_url)
    try:
        return open_hosted(None)
    except CagedConfigError:
        return open_local(data_dir)


def connector(data_dir: Path | None = None) -> Connector:
    """The app's way to switch profile, remembering the local data directory."""

    def connect(profile: str) -> Session:
        return open_session(profile, data_dir=data_dir)

    return connect
