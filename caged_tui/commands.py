"""The command palette provider: every action of every screen, by name.

Commands are read from the real ``BINDINGS`` of every screen in the
:mod:`~caged_tui.registry` (so the palette and the keys never disagree) plus
the profile commands. An action of a screen that is not in front runs after
navigating there when that screen is a mode (``sandboxes``, ``terminals``);
otherwise the palette says where it applies.

Profiles are read from the config file once per palette session (when it
opens), not on every keystroke.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.widget import Widget

from caged_core import config
from caged_tui import registry
from caged_tui.protocol import Revealable

if TYPE_CHECKING:
    from caged_tui.protocol import CagedHost


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
    """(label, class, mode to switch to first) for each registered screen."""
    return [
        (entry.title, entry.load(), entry.id if entry.mode else None)
        for entry in registry.SCREENS
        if entry.target is not None
    ]


def _parts(screen_class: type[DOMNode]) -> Iterator[tuple[str, type[Widget] | None]]:
    """Where a screen's actions live: the screen itself, then its titled parts."""
    yield "", None
    for part in getattr(screen_class, "PARTS", ()):
        yield part.TITLE, part


class CagedCommands(Provider):
    """Palette commands for screen actions and profiles."""

    _profiles: tuple[str, ...] = ()

    @property
    def caged(self) -> CagedHost:
        """The app, as the small protocol screens may rely on."""
        return cast("CagedHost", self.app)

    async def startup(self) -> None:
        """Read the profiles once when the palette opens (a file read, off the loop)."""
        if self.caged.connector is not None:
            settings = await asyncio.to_thread(config.load_settings)
            self._profiles = tuple(settings.profiles)

    def commands(self) -> Iterator[Command]:
        """Every command the palette offers right now."""
        app = self.caged
        for label, screen_class, destination in _screen_classes():
            for part_title, part in _parts(screen_class):
                where = f"the {label.lower()} screen"
                if part_title:
                    where = f"the {part_title} tab of {where}"
                for binding in bindings_of(part or screen_class):
                    key = self.app.get_key_display(binding)
                    yield Command(
                        f"{label}: {binding.description}",
                        f"{key} on {where}",
                        partial(self._run, screen_class, binding.action, destination, label, part),
                    )
        yield Command(
            "Profile: log in to hosted Caged", "paste an API key", partial(app.go, "profiles")
        )
        if app.connector is not None:
            for profile in self._profiles:
                yield Command(
                    f"Profile: switch to {profile}",
                    "rebuild the client for this profile",
                    partial(app.switch_profile, profile),
                )

    async def _run(
        self,
        screen_class: type[DOMNode],
        action: str,
        destination: str | None,
        label: str,
        part: type[Widget] | None,
    ) -> None:
        app = self.app
        if not isinstance(app.screen, screen_class):
            if destination is None:
                app.notify(
                    f"Open a {label.lower()} first: that action works there.", severity="warning"
                )
                return
            await app.switch_mode(destination)
        target: DOMNode = app.screen
        if part is not None:
            target = app.screen.query_one(part)
            if isinstance(target, Revealable):
                target.reveal()
        await app.run_action(action, target)

    async def discover(self) -> Hits:
        for command in self.commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
