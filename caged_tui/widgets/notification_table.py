"""The notifications table: unread first, newest first, with channel and delivery state."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from caged_core.models import Notification, NotificationChannel
from caged_tui import formatting as fmt
from caged_tui.safe_text import printable
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

COLUMNS: tuple[Column, ...] = (
    Column("read", "READ", 6),
    Column("channel", "CHANNEL", 7),
    Column("delivery", "DELIVERY", 10),
    Column("title", "TITLE", 26),
    Column("message", "MESSAGE", 36),
    Column("alert", "ALERT", 12),
    Column("age", "AGE", 5),
)


def delivery(notification: Notification) -> tuple[str, str]:
    """Where the notification stands: shown in the app, delivered, failed (why) or pending."""
    if notification.channel == NotificationChannel.IN_APP:
        return "in app", ""
    if notification.delivered:
        return "delivered", "notification-table--delivered"
    if notification.delivered is False:
        why = fmt.one_line(printable(notification.delivery_error or ""), 40)
        return f"failed: {why}", "notification-table--failed"
    return "pending", "notification-table--pending"


def notification_order(notification: Notification) -> tuple[bool, float]:
    """Unread first, then the newest."""
    created = notification.created_at.timestamp() if notification.created_at else 0.0
    return (notification.read, -created)


def notification_cells(notification: Notification, now: datetime) -> tuple[Cell, ...]:
    """A notification's row."""
    read = ("read", "notification-table--read") if notification.read else ("● new", "")
    style = "" if notification.read else "notification-table--unread"
    return (
        read,
        (notification.channel.value, style),
        delivery(notification),
        (fmt.one_line(printable(notification.title), 40), style),
        (fmt.one_line(printable(notification.message), 60), ""),
        (printable(notification.alert_id or "") or fmt.DASH, ""),
        (fmt.since(notification.created_at, now), ""),
    )


def notification_source(now: datetime) -> ListSource[Notification]:
    """An empty source of notifications keyed by id, unread first."""
    source: ListSource[Notification] = ListSource(lambda n: n.id, notification_cells, now)
    source.view(filter=None, sort=notification_order, reverse=False)
    return source


class NotificationTable(VirtualTable):
    """The notifications list."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "notification-table--unread",
        "notification-table--read",
        "notification-table--delivered",
        "notification-table--failed",
        "notification-table--pending",
    }

    DEFAULT_CSS = """
    NotificationTable > .notification-table--unread { text-style: bold; }
    NotificationTable > .notification-table--read { color: $text-muted; }
    NotificationTable > .notification-table--delivered { color: $success; }
    NotificationTable > .notification-table--failed { color: $error; }
    NotificationTable > .notification-table--pending { color: $warning; }
    """

    def __init__(self, source: ListSource[Notification], *, id: str | None = None) -> None:
        super().__init__(COLUMNS, source, id=id)
