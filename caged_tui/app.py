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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from caged_core.client import AsyncCaged
from caged_core.errors import (
    CagedAPIError,
    CagedAuthError,
    CagedConfigError,
    CagedConnectionError,
    CagedError,
    CagedNotFoundError,
)
from caged_core.models import AlertState
from caged_tui.commands import CagedCommands
from caged_tui.connect import Connector, Session
from caged_tui.messages import PlatformUnreachable, SandboxesLoaded
from caged_tui.screens.help import HelpScreen, key_rows
from caged_tui.screens.login import LoginScreen
from caged_tui.screens.sandboxes import SandboxesScreen
from caged_tui.screens.terminals import TerminalsScreen
from caged_tui.settings import Settings
from caged_tui.status import Connection, PlatformStatus, isolation_of
from caged_tui.widgets.dialogs import ErrorDialog

#: Seconds between header polls while online, and the cap of the offline backoff.
STATUS_INTERVAL = 5.0
BACKOFF_CAP = 30.0
#: Backoff (seconds) from which an unreachable local platform is looked for anew.
RELOCATE_AFTER = 4.0

#: Statuses meaning "this platform does not have the feature" (the local one may lack some).
_UNSUPPORTED = (404, 405, 501)


class ClientFactory(Protocol):
    """Builds a client from an API key and a base URL (``AsyncCaged`` itself is one)."""

    def __call__(self, *, api_key: str, base_url: str) -> AsyncCaged: ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StatusPolled(Message):
    """The status poll finished one round.

    Only the poll's own fields travel: the isolation part of the status comes
    from :class:`SandboxesLoaded` and must not be overwritten by a stale copy.
    """

    connection: Connection
    reason: str = ""
    #: (unread notifications, open alerts); None keeps the last known counts.
    counts: tuple[int | None, int | None] | None = None


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

    CSS_PATH = "styles/app.tcss"
    TITLE = "caged"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "sandboxes": SandboxesScreen,
        "terminals": TerminalsScreen,
    }
    DEFAULT_MODE = "sandboxes"
    COMMANDS = App.COMMANDS | {CagedCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help", key_display="?", id="app.help"),
        Binding("1", "go('sandboxes')", "Sandboxes", show=False, id="app.go_sandboxes"),
        Binding("2", "go('terminals')", "Terminals", show=False, id="app.go_terminals"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, id="app.quit_ctrl_c"),
    ]

    #: Screen names accepted by ``:``, digits and the palette, with what they open.
    DESTINATIONS: ClassVar[dict[str, str]] = {
        "sandboxes": "the list of sandboxes (home)",
        "terminals": "open terminals, as tabs",
        "profiles": "log in / switch between local and hosted",
        "help": "the keys of this screen",
        "theme": "pick a theme",
        "quit": "leave caged-tui",
    }

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
        # A theme named in the config file that this Textual lacks is ignored,
        # not fatal: the default theme is a fine fallback.
        if settings.theme in self.available_themes:
            self.theme = settings.theme
        if settings.keymap:
            self.set_keymap(dict(settings.keymap))

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self.poll_status()

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
        return self.DESTINATIONS.keys()

    def go(self, name: str) -> None:
        """Open the screen called ``name`` (a unique prefix is enough)."""
        wanted = name.strip().lower()
        matches = [dest for dest in self.DESTINATIONS if dest.startswith(wanted)]
        if not wanted or len(matches) != 1:
            choices = ", ".join(self.DESTINATIONS)
            self.notify(f"No screen {name!r}. Try one of: {choices}", severity="warning")
            return
        match matches[0]:
            case "help":
                self.action_help()
            case "theme":
                self.action_change_theme()
            case "quit":
                self.exit()
            case "profiles":
                self.action_login()
            case mode:
                self.switch_mode(mode)

    def action_go(self, name: str) -> None:
        """Open the screen called ``name``."""
        self.go(name)

    def action_help(self) -> None:
        """Show the keys of the screen in front (not of the help itself)."""
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        title = getattr(screen, "SCREEN_TITLE", "") or type(screen).__name__
        self.push_screen(HelpScreen(title, key_rows(screen)))

    @work(group="terminals.open", exit_on_error=False, description="Opening a terminal")
    async def open_terminal(self, sandbox_id: str) -> None:
        """Switch to the terminals screen and open a new tab into ``sandbox_id``."""
        await self.switch_mode("terminals")
        screen = self.screen
        if isinstance(screen, TerminalsScreen):
            await screen.add_terminal(sandbox_id)

    def action_login(self) -> None:
        """Open the profile screen: log in to the hosted platform or switch to local."""
        self.push_screen(LoginScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name, about in self.DESTINATIONS.items():
            if name not in ("quit", "theme"):
                yield SystemCommand(f"Go to {name}", about, lambda name=name: self.go(name))

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
        self.poll_status()
        self.notify(note, title="Connected")
        self._close_client(old)

    @work(group="profile.close", exit_on_error=False)
    async def _close_client(self, client: AsyncCaged) -> None:
        await client.aclose()

    # ------------------------------------------------------------------ status

    @work(exclusive=True, group="status", exit_on_error=False)
    async def poll_status(self) -> None:
        """Poll notification and alert counts; back off while the platform is down."""
        delay = 1.0
        while True:
            if not self.in_foreground:
                await asyncio.sleep(1.0)
                continue
            try:
                counts = await self._fetch_counts()
            except CagedConnectionError as error:
                self.post_message(StatusPolled(Connection.OFFLINE, str(error)))
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
                if delay >= RELOCATE_AFTER and await self._relocated():
                    return  # ProfileSwitched restarts the poll on the new client
                continue
            except CagedAuthError as error:
                self.post_message(StatusPolled(Connection.UNAUTHORIZED, str(error)))
                await asyncio.sleep(BACKOFF_CAP)
                continue
            delay = 1.0
            self.post_message(StatusPolled(Connection.ONLINE, counts=counts))
            await asyncio.sleep(STATUS_INTERVAL)

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

    async def _fetch_counts(self) -> tuple[int | None, int | None]:
        try:
            unread: int | None = await self.client.notifications.unread_count()
        except CagedAPIError as error:
            if error.status not in _UNSUPPORTED:
                raise
            unread = None
        try:
            alerts = await self.client.alerts.list()
            open_alerts: int | None = sum(1 for a in alerts if a.state == AlertState.OPEN)
        except CagedAPIError as error:
            if error.status not in _UNSUPPORTED:
                raise
            open_alerts = None
        return unread, open_alerts

    @on(StatusPolled)
    def _status_polled(self, event: StatusPolled) -> None:
        unread, open_alerts = event.counts or (self.status.unread, self.status.open_alerts)
        self.status = replace(
            self.status,
            connection=event.connection,
            reason=event.reason,
            unread=unread,
            open_alerts=open_alerts,
        )

    @on(SandboxesLoaded)
    def _sandboxes_loaded(self, event: SandboxesLoaded) -> None:
        isolation, unisolated = isolation_of(event.sandboxes)
        connection = Connection.ONLINE
        if self.status.connection is Connection.UNAUTHORIZED:
            connection = Connection.UNAUTHORIZED
        self.status = replace(
            self.status,
            connection=connection,
            reason="",
            isolation=isolation,
            unisolated=unisolated,
        )

    @on(PlatformUnreachable)
    def _platform_unreachable(self, event: PlatformUnreachable) -> None:
        if self.status.connection is not Connection.OFFLINE:
            self.status = replace(self.status, connection=Connection.OFFLINE, reason=event.reason)
            # Restart the poll: it owns the backoff and announces the recovery.
            self.poll_status()

    # ------------------------------------------------------------------ errors

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
        if isinstance(error, CagedConnectionError):
            self.post_message(PlatformUnreachable(str(error)))
            self.notify(str(error), title="Platform unreachable", severity="error")
        elif isinstance(error, CagedNotFoundError):
            self.notify(str(error), title="Not found", severity="warning")
        elif isinstance(error, CagedError):
            self.notify(
                str(error), title=type(error).__name__.removeprefix("Caged"), severity="error"
            )
        else:
            self.push_screen(
                ErrorDialog(
                    "Something went wrong",
                    f"{what} failed unexpectedly:\n\n{type(error).__name__}: {error}",
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
