"""The TUI's settings: where it is connected and how it looks.

Precedence, highest first, for every field that has more than one source:

1. command-line flags (``--profile``, ``--local``, ``--base-url``, ``--data-dir``);
2. environment variables read by :mod:`caged_core.config` (``CAGED_API_KEY``, …);
3. the config file (theme, keymap, the default profile);
4. the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

#: The profile name of the embedded local platform.
LOCAL_PROFILE = "local"
#: Textual theme used when the config file names none.
DEFAULT_THEME = "textual-dark"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app needs to know besides its client.

    Attributes:
        profile: the profile in use (``local`` or a hosted profile name).
        base_url: the platform's base URL, shown in the header for hosted profiles.
        local: whether this is the embedded local platform (isolation is shown).
        theme: the Textual theme name, remembered in the config file.
        keymap: binding id → keys overrides from the config file (``App.set_keymap``).
        refresh_seconds: how often live views poll while the app is in the foreground.
        data_dir: the local platform's data directory, when it is the local profile.
    """

    profile: str = LOCAL_PROFILE
    base_url: str = ""
    local: bool = True
    theme: str = DEFAULT_THEME
    keymap: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    refresh_seconds: float = 2.0
    data_dir: Path | None = None

    @property
    def profile_label(self) -> str:
        """What the header shows for the profile: ``LOCAL`` or the hosted URL."""
        return "LOCAL" if self.local else (self.base_url or self.profile)
