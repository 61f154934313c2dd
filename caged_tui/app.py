"""The Textual application: :class:`CagedApp` and the one factory :func:`make_app`.

The app receives its client from outside, so the CLI, the tests (a real local
platform on a random port, or an ``httpx.MockTransport`` for snapshots) and
``scripts/export_screenshots.py`` all run exactly the same app.

Errors are handled in three tiers:

1. a toast per failed action (the worker that failed says what it was doing);
2. :meth:`CagedApp.report_worker_failure`, the one place failed workers end up:
   platform errors become toasts, anything unexpected an :class:`ErrorDialog`;
3. fatal configuration problems never reach the app: ``cli.main`` exits 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.filter import LineFilter
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from caged_core.client import AsyncCaged
from caged_core.errors import (
    CagedConfigError,
    CagedConnectionError,
    CagedError,
    CagedNotFoundError,
)
from caged_tui import collector, registry
from caged_tui.alert_watch import AlertWatch
from caged_tui.commands import CagedCommands
from caged_tui.connect import Connector, Session
from caged_tui.control_filter import ControlFilter
from caged_tui.host_keys import hand_key_to_terminal, takes_every_key, use_host_key_parser
from caged_tui.live import OPEN_ALERTS, SANDBOXES, UNREAD, Health, LiveFeed, Tally
from caged_tui.messages import PlatformUnreachable
from caged_tui.protocol import ClientFactory
from caged_tui.safe_text import controls_escaped, printable
from caged_tui.settings import Settings
from caged_tui.status import Connection, PlatformStatus, isolation_of

if TYPE_CHECKING:
    from caged_core.models import Sandbox

#: Backoff (seconds) from which an unreachable local platform is looked for anew.
RELOCATE_AFTER = 4.0
#: Seconds after mount by which start-up counts as over even if the first live round is
#: still waiting for the platform (what it put off must not wait on a slow answer).
STARTED_AT_THE_LATEST = 5.0


def _mode(entry: registry.ScreenEntry) -> Callable[[], Screen[Any]]:
    def screen() -> Screen[Any]:
        made = entry.load()()
        # Textual marks a new mode's screen as never styled, so the first switch to each
        # mode (the first frame too) re-parsed the whole stylesheet and restyled every
        # mounted node for it, though the screen is styled as it mounts. Marked current
        # unless the CSS variables changed (a theme), when that refresh is wanted.
        app = made.app
        if app.stylesheet._variables == app.get_css_variables():
            made._css_update_count = app._css_update_count
        return made

    return screen


#: Every screen's stylesheet, read once the first frame is on screen
#: (:meth:`CagedApp.read_screen_stylesheets`). A screen's own ``CSS_PATH`` met for the
#: first time on a push makes Textual re-parse the whole stylesheet (every widget's
#: DEFAULT_CSS too, its parse cache is dropped) and restyle every mounted node: about half
#: of opening a screen. Read in advance, a push only styles the new screen's widgets; read
#: at start, parsing them was ~15 ms of the way to the first frame, which shows one screen.
SCREEN_STYLESHEETS: tuple[Path, ...] = tuple(
    sorted((Path(__file__).parent / "screens").rglob("*.tcss"))
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ProfileSwitched(Message):
    """A new client and settings are ready for another profile."""

    session: Session
    note: str = ""


@dataclass
class LoginNeeded(Message):
    """A hosted profile has no usable key yet."""

    profile: str
    reason: str


#: Stateless, so one for every app.
_CONTROL_FILTER = ControlFilter()


class CagedApp(App[None]):
    """The caged-tui application.

    Args:
        client: the platform client; the app owns it from now on and closes it.
        settings: profile, theme, keymap and refresh rate.
        now: the clock used for ages and countdowns (frozen in snapshot tests).
        connector: builds a client for another profile (palette "Profile: …");
            without one, profile switching is not offered.
        remember_theme: persists the theme when the user changes it.
        client_factory: builds a client from (api key, base URL) — the login
            screen verifies pasted keys with it.
    """

    #: The app's stylesheet and the first screen's: all the first frame needs. The other
    #: screens' are read right after it (:data:`SCREEN_STYLESHEETS`).
    CSS_PATH: ClassVar[list[str | PurePath]] = ["styles/app.tcss", "screens/sandboxes.tcss"]
    TITLE = "caged"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        entry.id: _mode(entry) for entry in registry.modes()
    }
    DEFAULT_MODE = registry.DEFAULT.id
    COMMANDS = App.COMMANDS | {CagedCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        # No key_display: where a terminal takes "?", the footer must say f1.
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        *(
            Binding(
                entry.key, f"go({entry.id!r})", entry.title, show=False, id=f"app.go_{entry.id}"
            )
            for entry in registry.destinations()
            if entry.key
        ),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, id="app.quit_ctrl_c"),
    ]

    status: reactive[PlatformStatus] = reactive(PlatformStatus, init=False)
    settings: var[Settings] = var(Settings, init=False)

    def __init__(
        self,
        client: AsyncCaged,
        settings: Settings,
        *,
        now: Callable[[], datetime] = _utc_now,
        connector: Connector | None = None,
        remember_theme: Callable[[str], None] | None = None,
        client_factory: ClientFactory = AsyncCaged,
    ) -> None:
        super().__init__()
        self.client = client
        self.now = now
        self.connector = connector
        self.client_factory = client_factory
        self._remember_theme = remember_theme
        self.set_reactive(CagedApp.settings, settings)
        self._started = False
        self.live = LiveFeed(
            self,
            lambda: self.client,
            lambda: self.in_foreground,
            interval=settings.refresh_seconds,
        )
        # A theme named in the config file that this Textual lacks is ignored,
        # not fatal: the default theme is a fine fallback.
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        if settings.keymap:
            self.set_keymap(dict(settings.keymap))

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self.live.health.subscribe(self, self._health)
        self.live.subscribe(self, SANDBOXES, self._sandboxes_loaded)
        self.live.subscribe(self, UNREAD, self._unread_loaded)
        self.live.subscribe(self, OPEN_ALERTS, self._open_alerts_loaded)
        AlertWatch(self, self.live).start()
        self.run_worker(
            self.live.run(),
            group="live",
            exclusive=True,
            exit_on_error=False,
            description="Live updates",
        )
        self.set_timer(STARTED_AT_THE_LATEST, self._started_up)

    def _started_up(self) -> None:
        """Do what start-up put off until the first frame was on screen (once)."""
        if self._started:
            return
        self._started = True
        self.read_screen_stylesheets()
        collector.release_after_start()

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver, reading Alt keys as the host terminal sent them (for terminals)."""
        use_host_key_parser()
        return super().get_driver_class()

    async def _check_bindings(self, key: str, priority: bool = False) -> bool:
        # Textual checks the priority bindings (ctrl+q, ctrl+p) before the focused widget sees
        # the key; a connected terminal with the focus takes every key (issue 17) and the app is
        # reached through its prefix key.
        if priority and takes_every_key(self.focused):
            return False
        return await super()._check_bindings(key, priority)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+p is the shell's while a terminal takes every key: the footer says so."""
        return not (action == "command_palette" and takes_every_key(self.focused))

    async def on_event(self, event: events.Event) -> None:
        # What the user does sets the live feed's pace (it backs off while idle).
        if isinstance(event, (events.Key, events.MouseDown)):
            self.live.activity()
        if hand_key_to_terminal(self, event):
            return
        await super().on_event(event)

    def watch_app_focus(self, focus: bool) -> None:
        if focus:
            self.live.poke()

    async def on_unmount(self) -> None:
        await self.client.aclose()

    def watch_theme(self, theme: str) -> None:
        if self._remember_theme is not None and theme != self.settings.theme:
            self._remember_theme(theme)
            self.settings = replace(self.settings, theme=theme)

    @property
    def in_foreground(self) -> bool:
        """Whether live views should poll: the terminal has focus (always when headless)."""
        return self.app_focus or self.is_headless

    # ------------------------------------------------------------------ navigation

    def destinations(self) -> Iterable[str]:
        """Names accepted by :meth:`go` (completion for the ``:`` prompt)."""
        return [entry.command for entry in registry.destinations()]

    def go(self, name: str) -> None:
        """Open the screen called ``name`` (a unique prefix is enough)."""
        entry = registry.resolve(name)
        if entry is None:
            choices = ", ".join(self.destinations())
            self.notify(f"No screen {name!r}. Try one of: {choices}", severity="warning")
        elif entry.action is not None:
            self.call_next(self.run_action, entry.action)
        else:
            self.switch_mode(entry.id)

    def action_go(self, name: str) -> None:
        """Open the screen called ``name``."""
        self.go(name)

    def action_help(self) -> None:
        """Show the keys of the screen in front (not of the help itself)."""
        from caged_tui.screens.help import HelpScreen, key_rows

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        entry = registry.entry_for(screen)
        title = entry.title if entry else getattr(screen, "SCREEN_TITLE", type(screen).__name__)
        self.push_screen(HelpScreen(title, key_rows(screen)))

    @work(group="terminals.open", exit_on_error=False, description="Opening a terminal")
    async def open_terminal(self, sandbox_id: str) -> None:
        """Switch to the terminals screen and open a new tab into ``sandbox_id``."""
        from caged_tui.screens.terminals import TerminalsScreen

        await self.switch_mode("terminals")
        screen = self.screen
        if isinstance(screen, TerminalsScreen):
            await screen.add_terminal(sandbox_id)

    def open_terminal_count(self) -> int:
        """Terminal tabs open on the terminals screen (0 before it was first opened)."""
        from caged_tui.screens.terminals import TerminalsScreen

        try:
            stack = self.get_screen_stack("terminals")
        except KeyError:
            return 0
        return sum(s.tab_count for s in stack if isinstance(s, TerminalsScreen))

    async def action_quit(self) -> None:
        """Quit; with terminals open, ask first (their shells would be cut off)."""
        count = self.open_terminal_count()
        if not count:
            self.exit()
            return
        from caged_tui.widgets.dialogs import ConfirmDialog

        def answered(quit: bool | None) -> None:
            if quit:
                self.exit()

        noun = "terminal is" if count == 1 else f"{count} terminals are"
        self.push_screen(
            ConfirmDialog(
                "Quit caged-tui?",
                f"{noun} open; quitting closes them (the sandboxes keep running).",
                confirm_label="Quit",
            ),
            callback=answered,
        )

    def action_login(self) -> None:
        """Open the profile screen: log in to the hosted platform or switch to local."""
        from caged_tui.screens.login import LoginScreen

        self.push_screen(LoginScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for entry in registry.destinations():
            if entry.action not in ("quit", "change_theme"):
                yield SystemCommand(
                    f"Go to {entry.command}",
                    entry.about,
                    lambda name=entry.command: self.go(name),
                )

    # ------------------------------------------------------------------ profiles

    def switch_profile(self, profile: str) -> None:
        """Rebuild the client for ``profile`` (in a worker: starting the local
        platform can take a moment)."""
        if self.connector is None:
            self.notify("Profile switching is not available here.", severity="warning")
            return
        self.notify(f"Connecting to profile {profile!r}…")
        self._connect(profile)

    @work(exclusive=True, group="profile", thread=True, exit_on_error=False)
    def _connect(self, profile: str) -> None:
        assert self.connector is not None
        try:
            session = self.connector(profile)
        except CagedConfigError as error:
            self.post_message(LoginNeeded(profile, str(error)))
            return
        self.post_message(ProfileSwitched(session))

    @on(LoginNeeded)
    def _login_needed(self, event: LoginNeeded) -> None:
        from caged_tui.screens.login import LoginScreen

        self.notify(event.reason, title=f"Profile {event.profile}", severity="warning")
        self.push_screen(LoginScreen(profile=event.profile))

    @on(ProfileSwitched)
    def _profile_switched(self, event: ProfileSwitched) -> None:
        note = event.note or f"Now on {event.session.settings.profile_label}"
        self.use_session(event.session, note)

    def use_session(self, session: Session, note: str) -> None:
        """Replace the client and settings; every screen reloads from the new platform."""
        old = self.client
        self.client = session.client
        self.status = PlatformStatus()
        self.settings = replace(session.settings, theme=self.theme)
        self.live.forget()
        self.notify(note, title="Connected")
        self._close_client(old)

    @work(group="profile.close", exit_on_error=False)
    async def _close_client(self, client: AsyncCaged) -> None:
        await client.aclose()

    # ------------------------------------------------------------------ status

    def read_screen_stylesheets(self) -> None:
        """Read the stylesheets of the screens not shown yet (the first frame read only
        its own): a later push then finds its rules parsed. The sources already read
        stay in the parse cache, and what is mounted is restyled once, as a rule for a
        screen may also match a shared widget."""
        stylesheet = self.stylesheet
        unread = [path for path in SCREEN_STYLESHEETS if not stylesheet.has_source(str(path))]
        if not unread:
            return
        for path in unread:
            stylesheet.read(path)
        for screen in self.screen_stack:
            stylesheet.update(screen)

    def _health(self, health: Health) -> None:
        if not self._started:
            # The first round is over: the list (or why it is missing) is painted next.
            self.call_after_refresh(self._started_up)
        self.status = replace(self.status, connection=health.connection, reason=health.reason)
        if (
            health.connection is Connection.OFFLINE
            and self.live.delay >= RELOCATE_AFTER
            and self.settings.local
            and self.connector is not None
        ):
            self._relocate()

    @work(exclusive=True, group="relocate", exit_on_error=False)
    async def _relocate(self) -> None:
        await self._relocated()

    async def _relocated(self) -> bool:
        """On the embedded platform, find it again (started anew if it died).

        The local platform listens on a free port, so after a restart it is
        elsewhere: retrying the old URL would never recover. Returns whether a
        new session was posted.
        """
        if not self.settings.local or self.connector is None:
            return False
        try:
            session = await asyncio.to_thread(self.connector, self.settings.profile)
        except (CagedError, OSError):
            return False
        if session.settings.base_url == self.settings.base_url:
            await session.client.aclose()
            return False
        self.post_message(
            ProfileSwitched(
                session, f"Reconnected to the local platform at {session.settings.base_url}"
            )
        )
        return True

    def _unread_loaded(self, unread: Tally) -> None:
        self.status = replace(self.status, unread=unread.count)

    def _open_alerts_loaded(self, open_alerts: Tally) -> None:
        self.status = replace(self.status, open_alerts=open_alerts.count)

    def _sandboxes_loaded(self, sandboxes: list[Sandbox]) -> None:
        isolation, unisolated = isolation_of(sandboxes)
        self.status = replace(self.status, isolation=isolation, unisolated=unisolated)

    @on(PlatformUnreachable)
    def _platform_unreachable(self, event: PlatformUnreachable) -> None:
        if self.status.connection is not Connection.OFFLINE:
            self.status = replace(self.status, connection=Connection.OFFLINE, reason=event.reason)
            # The live feed owns the backoff and announces the recovery.
            self.live.poke()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then the guard that keeps control characters a widget
        failed to escape from ever reaching the host terminal."""
        return [*super().get_line_filters(), _CONTROL_FILTER]

    # ------------------------------------------------------------------ errors

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,  # Textual's signature: every toast here is text
    ) -> None:
        """A toast, always drawn as text: toasts name files, paths and reasons that come
        from sandboxes, so their control characters are escaped (newlines kept) and their
        brackets are never markup (a broken tag raised while the toast was drawn)."""
        super().notify(
            controls_escaped(message, keep="\n"),
            title=controls_escaped(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers fail through the same handler as the screens'."""
        self.report_worker_failure(event.worker)

    def report_worker_failure(self, worker: Worker[object]) -> None:
        """The central handler for failed workers: a toast for platform errors,
        a dialog for anything unexpected — never a traceback."""
        if worker.state is not WorkerState.ERROR or worker.error is None:
            return
        error = worker.error
        what = worker.description or worker.name or "A background task"
        # Messages carry what a sandbox said (a command's stderr, a path): shown escaped.
        said = printable(str(error))
        if isinstance(error, CagedConnectionError):
            self.post_message(PlatformUnreachable(str(error)))
            self.notify(said, title="Platform unreachable", severity="error")
        elif isinstance(error, CagedNotFoundError):
            self.notify(said, title="Not found", severity="warning")
        elif isinstance(error, CagedError):
            title = type(error).__name__.removeprefix("Caged")
            self.notify(said, title=title, severity="error")
        else:
            from caged_tui.widgets.dialogs import ErrorDialog

            self.push_screen(
                ErrorDialog(
                    "Something went wrong",
                    f"{what} failed unexpectedly:\n\n{type(error).__name__}: {said}",
                )
            )


def make_app(
    client: AsyncCaged,
    settings: Settings | None = None,
    *,
    now: Callable[[], datetime] | None = None,
    connector: Connector | None = None,
    remember_theme: Callable[[str], None] | None = None,
    client_factory: ClientFactory = AsyncCaged,
) -> CagedApp:
    """Build the app the way the CLI, the tests and the screenshot script all do.

    Args:
        client: a connected :class:`AsyncCaged` (the app closes it on exit).
        settings: defaults to the local profile with the default theme.
        now: a clock; pass a constant function to freeze ages in snapshots.
        connector: how to build a client for another profile.
        remember_theme: called with the new theme name when the user changes it.
        client_factory: how the login screen builds a client for a pasted key.
    """
    return CagedApp(
        client,
        settings or Settings(),
        now=now or _utc_now,
        connector=connector,
        remember_theme=remember_theme,
        client_factory=client_factory,
    )
