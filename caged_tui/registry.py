"""Every screen and destination, declared once.

The app builds its modes and digit keys from :data:`SCREENS`; the ``:`` prompt
completes and resolves names with :func:`resolve`; the palette offers "Go to …"
for each destination and the actions of each screen class; the help screen
takes its title from here. Adding a screen is one module plus one entry.

Screen classes are loaded on first use (``load``), which keeps their imports —
pyte for the terminals, the forms — off the path to the first frame.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.screen import Screen


@dataclass(frozen=True, slots=True)
class ScreenEntry:
    """One destination.

    Attributes:
        id: the mode name (for screens) and binding-id suffix.
        title: shown in the header, the help and the palette.
        command: the ``:`` name (a unique prefix is enough).
        about: one line for the palette and the help.
        key: the digit that jumps here, if any.
        target: ``"module:Class"`` of the screen, for screens.
        action: the app action run instead, for destinations that are not
            screens of their own (help, theme, profiles, quit), or that open
            for the sandbox in front (``screen.open_for_sandbox(...)``: files, diff;
            a mode may be opened that way too, for one sandbox: snapshots).
        mode: whether the screen is an app mode (kept alive, switched to)
            rather than pushed with arguments from another screen.
    """

    id: str
    title: str
    command: str
    about: str
    key: str | None = None
    target: str | None = None
    action: str | None = None
    mode: bool = True

    def load(self) -> type[Screen[Any]]:
        """The screen class (imported on first use)."""
        assert self.target is not None, f"{self.id} is not a screen"
        module, _, name = self.target.partition(":")
        screen: type[Screen[Any]] = getattr(importlib.import_module(module), name)
        return screen

    @property
    def destination(self) -> bool:
        """Whether ``:``, the digits and the palette's "Go to" reach it."""
        return self.action is not None or self.mode


SCREENS: tuple[ScreenEntry, ...] = (
    ScreenEntry(
        "sandboxes",
        "Sandboxes",
        "sandboxes",
        "the list of sandboxes (home)",
        key="1",
        target="caged_tui.screens.sandboxes:SandboxesScreen",
    ),
    ScreenEntry(
        "terminals",
        "Terminals",
        "terminals",
        "open terminals, as tabs",
        key="2",
        target="caged_tui.screens.terminals:TerminalsScreen",
    ),
    ScreenEntry(
        "sessions",
        "Sessions",
        "sessions",
        "agent sessions: cost, trust, replay",
        key="3",
        target="caged_tui.screens.sessions:SessionsScreen",
    ),
    ScreenEntry(
        "replay",
        "Replay",
        "replay",
        "one session played back or followed live (enter on a session)",
        target="caged_tui.screens.replay:ReplayScreen",
        mode=False,
    ),
    ScreenEntry(
        "detail",
        "Sandbox",
        "sandbox",
        "one sandbox: overview, logs, ports, trust, exec (enter on a sandbox)",
        target="caged_tui.screens.detail.screen:SandboxDetailScreen",
        mode=False,
    ),
    ScreenEntry(
        "create",
        "New sandbox",
        "new",
        "the create form (n on the sandboxes screen)",
        target="caged_tui.screens.create:CreateScreen",
        mode=False,
    ),
    ScreenEntry(
        "files",
        "Files",
        "files",
        "the workspace of the selected sandbox: tree, preview, editor (f)",
        target="caged_tui.screens.files.screen:FilesScreen",
        action="screen.open_for_sandbox('files')",
        mode=False,
    ),
    ScreenEntry(
        "diff",
        "Diff",
        "diff",
        "the git diff of the selected sandbox's workspace (D)",
        target="caged_tui.screens.diff:DiffScreen",
        action="screen.open_for_sandbox('diff')",
        mode=False,
    ),
    ScreenEntry(
        "alerts",
        "Alerts",
        "alerts",
        "alerts by severity, resolve them, and the rules that raise them (click ⚠)",
        target="caged_tui.screens.alerts.screen:AlertsScreen",
    ),
    ScreenEntry(
        "snapshots",
        "Snapshots",
        "snapshots",
        "snapshots of every sandbox (s on a sandbox: only its own)",
        target="caged_tui.screens.snapshots:SnapshotsScreen",
    ),
    ScreenEntry(
        "notifications",
        "Notifications",
        "notifications",
        "the inbox (mark read) and the channels: Slack, Discord, email (click 🔔)",
        target="caged_tui.screens.notifications.screen:NotificationsScreen",
    ),
    ScreenEntry(
        "account",
        "Account",
        "account",
        "API keys (create, revoke) and connected sessions",
        target="caged_tui.screens.account.screen:AccountScreen",
    ),
    ScreenEntry(
        "billing",
        "Usage and billing",
        "billing",
        "plan, usage charts per day and per sandbox, upgrade, portal, cancel",
        target="caged_tui.screens.billing.screen:BillingScreen",
    ),
    ScreenEntry(
        "profiles", "Profiles", "profiles", "log in / switch local and hosted", action="login"
    ),
    ScreenEntry("help", "Help", "help", "the keys of this screen", action="help"),
    ScreenEntry("theme", "Theme", "theme", "pick a theme", action="change_theme"),
    ScreenEntry("quit", "Quit", "quit", "leave caged-tui", action="quit"),
)

DEFAULT = SCREENS[0]


def destinations() -> Iterator[ScreenEntry]:
    """Entries reachable by name."""
    return (entry for entry in SCREENS if entry.destination)


def modes() -> Iterator[ScreenEntry]:
    """Entries that are app modes."""
    return (entry for entry in SCREENS if entry.mode and entry.target)


def resolve(name: str) -> ScreenEntry | None:
    """The destination ``name`` names (exactly, or as a unique prefix)."""
    wanted = name.strip().lower()
    if not wanted:
        return None
    matches = [entry for entry in destinations() if entry.command.startswith(wanted)]
    exact = [entry for entry in matches if entry.command == wanted]
    return exact[0] if exact else (matches[0] if len(matches) == 1 else None)


def by_id(entry_id: str) -> ScreenEntry:
    """The entry with ``id``."""
    return next(entry for entry in SCREENS if entry.id == entry_id)


def entry_for(screen: object) -> ScreenEntry | None:
    """The entry of a screen instance (by its class), if it has one."""
    for entry in SCREENS:
        if entry.target is not None:
            module, _, name = entry.target.partition(":")
            klass = type(screen)
            if klass.__module__ == module and klass.__name__ == name:
                return entry
    return None
