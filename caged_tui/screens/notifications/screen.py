"""The notifications screen (``:notifications``; a click on the header's 🔔 count too).

The inbox tab lists the newest notifications with their channel, delivery state and
read state (a live-feed topic fetched while this screen is in front); ``m`` marks
the one under the cursor read, ``M`` all of them, ``enter`` marks it read and opens
its alert. The settings tab (:mod:`.settings`) edits the channels.
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static, TabbedContent, TabPane

from caged_core.client import AsyncCaged
from caged_core.models import Notification
from caged_tui.live import Fetched, TopicSpec
from caged_tui.screens.base import CagedScreen
from caged_tui.screens.notifications.settings import SettingsPanel
from caged_tui.widgets.notification_table import NotificationTable, notification_source

#: The slowest this screen's data is fetched, in seconds (a poke fetches it at once).
PACE = 10.0

#: Notifications shown: the API lists the newest ones and has no later pages.
SHOWN = 200


class NotificationsScreen(CagedScreen[None]):
    """The inbox and the channel settings."""

    SCREEN_TITLE = "Notifications"
    CSS_PATH = "notifications.tcss"
    AUTO_FOCUS = "#notifications-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open alert", id="notifications.open"),
        Binding("m", "mark_read", "Mark read", id="notifications.mark_read"),
        Binding("M", "mark_all_read", "Mark all read", id="notifications.mark_all_read"),
        Binding(
            "1", "tab('notifications-inbox')", "Inbox tab", show=False, id="notifications.inbox"
        ),
        Binding("2", "tab('notifications-settings')", "Settings tab", id="notifications.settings"),
        Binding("r,ctrl+r", "refresh", "Refresh", show=False, id="notifications.refresh"),
    ]

    PARTS = (SettingsPanel,)

    unread: reactive[int | None] = reactive(None, init=False)

    def __init__(self) -> None:
        super().__init__()
        self._source = notification_source(self.now())

    def compose_body(self) -> ComposeResult:
        with TabbedContent(initial="notifications-inbox", id="notifications-tabs"):
            with TabPane("Inbox", id="notifications-inbox"):
                yield Static("Loading notifications…", id="notifications-info")
                yield NotificationTable(self._source, id="notifications-table")
            yield SettingsPanel()

    def on_mount(self) -> None:
        super().on_mount()
        # New notifications come with new alerts, which poke the feed; so does marking read.
        spec = TopicSpec("notifications", self._fetch, min_interval=PACE)
        self.caged.live.subscribe(self, spec, self._loaded)

    def on_screen_resume(self) -> None:
        # Back in front: the data paced while away is fetched now, not at the next pace.
        self.caged.live.poke()

    async def _fetch(
        self, client: AsyncCaged, etag: str | None
    ) -> Fetched[tuple[list[Notification], int]]:
        # Only while in front (after the first look): a mode screen stays mounted.
        if not self.is_current and self.unread is not None:
            return Fetched(None)
        page = await client.notifications.list(limit=SHOWN)
        unread = getattr(page.response, "unread_count", None)
        return Fetched((list(page), unread if unread is not None else 0))

    @property
    def table(self) -> NotificationTable:
        """The inbox list."""
        return self.query_one(NotificationTable)

    def _loaded(self, value: tuple[list[Notification], int]) -> None:
        notifications, unread = value
        self._source.retime(self.now(), ())
        self.table.source_changed(self._source.update(notifications))
        self.unread = unread
        count = len(notifications)
        info = f"{count} notification{'' if count == 1 else 's'}, {unread} unread"
        if not count:
            info = "No notifications yet: every alert becomes one (and goes to the channels)."
        self.query_one("#notifications-info", Static).update(info)

    def _current(self) -> Notification | None:
        key = self.table.cursor_key
        return self._source.get(key) if key is not None else None

    # ------------------------------------------------------------------ actions

    def action_tab(self, tab: str) -> None:
        """Show the inbox or the settings tab."""
        self.query_one(TabbedContent).active = tab
        if tab == "notifications-inbox":
            self.call_after_refresh(self.table.focus)
        else:
            self.query_one(SettingsPanel).reveal()

    def action_refresh(self) -> None:
        """Reload now."""
        self.caged.live.poke()

    def action_mark_read(self) -> None:
        """Mark the notification under the cursor read."""
        current = self._current()
        if current is None:
            self.notify("No notification selected.", severity="warning")
        elif not current.read:
            self.mark_read(current.id)

    def action_mark_all_read(self) -> None:
        """Mark every notification read."""
        self.mark_all_read()

    def action_open(self) -> None:
        """Mark the notification read and show its alert."""
        current = self._current()
        if current is None:
            return
        if not current.read:
            self.mark_read(current.id)
        if current.alert_id:
            self.open_alert(current.alert_id)

    @work(group="notifications.read", exit_on_error=False, description="Marking read")
    async def mark_read(self, notification_id: str) -> None:
        """``POST /notifications/{id}/read``, then reload (the header's count too)."""
        await self.client.notifications.mark_read(notification_id)
        self.caged.live.poke()

    @work(group="notifications.read", exit_on_error=False, description="Marking all read")
    async def mark_all_read(self) -> None:
        """``POST /notifications/read-all``, then reload."""
        await self.client.notifications.mark_all_read()
        self.notify("Marked every notification read")
        self.caged.live.poke()

    @work(group="notifications.alert", exit_on_error=False, description="Opening the alert")
    async def open_alert(self, alert_id: str) -> None:
        """Fetch the alert and show its details."""
        from caged_tui.screens.alerts.detail import AlertDetailScreen

        alert = await self.client.alerts.get(alert_id)
        await self.app.push_screen(AlertDetailScreen(alert))
