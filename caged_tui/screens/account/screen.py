"""The account screen (``:account``): who you are, your API keys and connected sessions.

Keys tab: name, prefix, scope, last used, expires; ``n`` creates one (name and
scope) and shows its secret once, ``d`` revokes the one under the cursor after a
confirmation. Sessions tab: the signed-in sessions (on the local platform, the
clients connected now); ``d`` revokes one. Names and user agents are painted with
their control characters escaped, never interpreted by the terminal. Everything
comes from one live-feed topic, fetched while this screen is in front.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static, TabbedContent, TabPane

from caged_core.client import AsyncCaged
from caged_core.models import Account, AccountSession, APIKey
from caged_tui import formatting as fmt
from caged_tui.live import Fetched, TopicSpec
from caged_tui.safe_text import printable
from caged_tui.screens.account.dialogs import NewKey, NewKeyDialog, SecretDialog
from caged_tui.screens.base import CagedScreen
from caged_tui.widgets.dialogs import ConfirmDialog
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

#: The slowest this screen's data is fetched, in seconds (a poke fetches it at once).
PACE = 10.0

KEY_COLUMNS = (
    Column("name", "NAME", 16),
    Column("prefix", "PREFIX", 14),
    Column("scope", "SCOPE", 9),
    Column("last_used", "LAST USED", 9),
    Column("expires", "EXPIRES", 10),
    Column("created", "CREATED", 10),
)

SESSION_COLUMNS = (
    Column("id", "ID", 14),
    Column("agent", "CLIENT", 30),
    Column("ip", "ADDRESS", 15),
    Column("created", "CONNECTED", 9),
    Column("expires", "EXPIRES", 10),
)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _ago(moment: datetime | None, now: datetime) -> str:
    return f"{fmt.since(moment, now)} ago" if moment is not None else "never"


def _expires(moment: datetime | None, now: datetime) -> str:
    if moment is None or moment.year >= 9999:
        return "never"
    return f"in {fmt.until(moment, now)}" if moment > now else "expired"


def key_cells(key: APIKey, now: datetime) -> tuple[Cell, ...]:
    """An API key's row."""
    return (
        (printable(key.name) or fmt.DASH, ""),
        (printable(key.prefix) + "…", ""),
        (key.scope.value, "account-table--read-only" if key.scope != "full" else ""),
        (_ago(key.last_used, now), ""),
        (_expires(key.expires_at, now), ""),
        (_ago(key.created_at, now), ""),
    )


def session_cells(session: AccountSession, now: datetime) -> tuple[Cell, ...]:
    """An account session's row."""
    return (
        (printable(session.id), ""),
        (fmt.one_line(printable(session.user_agent), 60), ""),
        (printable(session.ip) or fmt.DASH, ""),
        (_ago(session.created_at, now), ""),
        (_expires(session.expires_at, now), ""),
    )


class AccountTable(VirtualTable):
    """The keys and the sessions lists."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "account-table--read-only",
    }
    DEFAULT_CSS = """
    AccountTable > .account-table--read-only { color: $secondary; }
    """


@dataclass(frozen=True, slots=True)
class AccountView:
    """What the account screen shows."""

    account: Account
    keys: tuple[APIKey, ...]
    sessions: tuple[AccountSession, ...]


class AccountScreen(CagedScreen[None]):
    """Keys and sessions (see the module docstring)."""

    SCREEN_TITLE = "Account"
    CSS_PATH = "account.tcss"
    AUTO_FOCUS = "#account-keys-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "new_key", "New key", id="account.new_key"),
        Binding("d", "revoke", "Revoke", id="account.revoke"),
        Binding("1", "tab('account-keys')", "Keys tab", show=False, id="account.tab_keys"),
        Binding("2", "tab('account-sessions')", "Sessions tab", id="account.tab_sessions"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="account.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        now = self.now()
        self._keys: ListSource[APIKey] = ListSource(lambda k: k.id, key_cells, now)
        self._sessions: ListSource[AccountSession] = ListSource(lambda s: s.id, session_cells, now)
        self.view: AccountView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("Loading the account…", id="account-info")
        with TabbedContent(initial="account-keys", id="account-tabs"):
            with TabPane("API keys", id="account-keys"):
                yield AccountTable(KEY_COLUMNS, self._keys, id="account-keys-table")
            with TabPane("Sessions", id="account-sessions"):
                yield AccountTable(SESSION_COLUMNS, self._sessions, id="account-sessions-table")

    def on_mount(self) -> None:
        super().on_mount()
        # Three requests; what this screen changes pokes the feed, the rest may wait 10 s.
        spec = TopicSpec("account", self._fetch, min_interval=PACE)
        self.caged.live.subscribe(self, spec, self._loaded)

    def on_screen_resume(self) -> None:
        # Back in front: the data paced while away is fetched now, not at the next pace.
        self.caged.live.poke()

    async def _fetch(self, client: AsyncCaged, etag: str | None) -> Fetched[AccountView]:
        if not self.is_current and self.view is not None:
            return Fetched(None)
        account = await client.account.get()
        keys = tuple(await client.account.list_keys())
        sessions = tuple(await client.account.list_sessions())
        return Fetched(AccountView(account, keys, sessions))

    def _loaded(self, view: AccountView) -> None:
        self.view = view
        now = self.now()
        self._keys.retime(now, ())
        self._sessions.retime(now, ())
        keys = self.query_one("#account-keys-table", AccountTable)
        keys.source_changed(self._keys.update(view.keys))
        sessions = self.query_one("#account-sessions-table", AccountTable)
        sessions.source_changed(self._sessions.update(view.sessions))
        account = view.account
        who = printable(account.name or account.email or account.id)
        email = f" <{printable(account.email)}>" if account.email and account.name else ""
        self.query_one("#account-info", Static).update(
            f"{who}{email} · tier {printable(account.tier)} · {_count(len(view.keys), 'key')}"
            f" · {_count(len(view.sessions), 'session')}"
        )

    # ------------------------------------------------------------------ selection

    @property
    def on_keys(self) -> bool:
        """Whether the keys tab is in front."""
        return self.query_one(TabbedContent).active == "account-keys"

    def _current_key(self) -> APIKey | None:
        key = self.query_one("#account-keys-table", AccountTable).cursor_key
        return self._keys.get(key) if key is not None else None

    def _current_session(self) -> AccountSession | None:
        key = self.query_one("#account-sessions-table", AccountTable).cursor_key
        return self._sessions.get(key) if key is not None else None

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab: str) -> None:
        """Show the keys or the sessions tab, its list focused."""
        self.query_one(TabbedContent).active = tab
        table = self.query_one(f"#{tab}-table", AccountTable)
        self.call_after_refresh(table.focus)

    def action_refresh(self) -> None:
        """Reload now."""
        self.caged.live.poke()

    def action_new_key(self) -> None:
        """Create an API key (name and scope); its secret is shown once."""

        def answered(new: NewKey | None) -> None:
            if new is not None:
                self.create_key(new)

        self.app.push_screen(NewKeyDialog(), callback=answered)

    @work(group="account.keys", exit_on_error=False, description="Creating the key")
    async def create_key(self, new: NewKey) -> None:
        """``POST /account/keys``, then the secret in a dialog of its own."""
        created = await self.client.account.create_key(new.name, scope=new.scope)
        self.caged.live.poke()
        await self.app.push_screen(SecretDialog(created.info.name, created.key))

    def action_revoke(self) -> None:
        """Revoke the key or end the session under the cursor, after a confirmation."""
        if self.on_keys:
            key = self._current_key()
            if key is None:
                self.notify("No key selected.", severity="warning")
                return
            what = f"the key {printable(key.name)!r} ({printable(key.prefix)}…)"
            detail = "Anything using it stops working at once; its open sockets close."
            target, kind = key.id, "key"
        else:
            session = self._current_session()
            if session is None:
                self.notify("No session selected.", severity="warning")
                return
            what = f"the session {printable(session.id)}"
            detail = f"{printable(session.user_agent) or 'The client'} is disconnected at once."
            target, kind = session.id, "session"

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.revoke(kind, target)

        self.app.push_screen(
            ConfirmDialog(f"Revoke {what}?", detail, confirm_label="Revoke"), callback=confirmed
        )

    @work(group="account.revoke", exit_on_error=False, description="Revoking")
    async def revoke(self, kind: str, target: str) -> None:
        """``DELETE /account/keys/{id}`` or ``/account/sessions/{id}``."""
        if kind == "key":
            await self.client.account.revoke_key(target)
        else:
            await self.client.account.revoke_session(target)
        self.notify(f"Revoked the {kind}")
        self.caged.live.poke()
