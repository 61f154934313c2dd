"""The command palette provider: every action of every screen, by name.

Commands are read from the screens' real ``BINDINGS`` (so the palette and the
keys never disagree) plus the profile commands. An action of a screen that is
not in front runs after navigating there when that screen is a destination
(``sandboxes``, ``terminals``); otherwise the palette says where it applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

from caged_core import config

if TYPE_CHECKING:
    from caged_tui.app import CagedApp


@dataclass(frozen=True, slots=True)
class Command:
    """One palette entry."""

    title: str
    help: str
    run: Callable[[], object]


def bindings_of(node_class: type[DOMNode]) -> Iterator[Binding]:
    """The described bindings of ``node_class`` and its bases, most specific first."""
    seen: set[str] = set()
    for klass in node_class.__mro__:
        for binding in Binding.make_bindings(klass.__dict__.get("BINDINGS", [])):
            if binding.description and binding.action not in seen:
                seen.add(binding.action)
                yield binding


def _screen_classes() -> list[tuple[str, type[DOMNode], str | None]]:
    """(label, class, destination to navigate to first) for each screen with actions."""
    from caged_tui.screens.detail import SandboxDetailScreen
    from caged_tui.screens.sandboxes import SandboxesScreen
    from caged_tui.screens.terminals import TerminalsScreen

    return [
        ("Sandboxes", SandboxesScreen, "sandboxes"),
        ("Sandbox", SandboxDetailScreen, None),
        ("Terminals", TerminalsScreen, "terminals"),
    ]


class CagedCommands(Provider):
    """Palette commands for screen actions and profiles."""

    @property
    def caged(self) -> CagedApp:
        """The app, typed."""
        from caged_tui.app import CagedApp

        return cast(CagedApp, self.app)

    def commands(self) -> Iterator[Command]:
        """Every command the palette offers right now."""
        app = self.caged
        for label, screen_class, destination in _screen_classes():
            for binding in bindings_of(screen_class):
                key = app.get_key_display(binding)
                yield Command(
                    f"{label}: {binding.description}",
                    f"{key} on the {label.lower()} screen",
                    partial(self._run, screen_class, binding.action, destination, label),
                )
        yield Command("Profile: log in to hosted Caged", "paste an API key", app.action_login)
        if app.connector is not None:
            for profile in config.load_settings().profiles:
                yield Command(
                    f"Profile: switch to {profile}",
                    "rebuild the client for this profile",
                    partial(app.switch_profile, profile),
                )

    async def _run(
        self, screen_class: type[DOMNode], action: str, destination: str | None, label: str
    ) -> None:
        app = self.caged
        if not isinstance(app.screen, screen_class):
            if destination is None:
                app.notify(
                    f"Open a {label.lower()} first: that action works there.", severity="warning"
                )
                return
            await app.switch_mode(destination)
        await app.run_action(action, app.screen)

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
