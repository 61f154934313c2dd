"""The alerts table: a :class:`VirtualTable` over a :class:`ListSource` of alerts.

Open alerts first, then by severity (critical, warning, info), newest first;
severity and state colours come from the theme through component classes.
Titles, messages and ids are painted through :func:`printable`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from caged_core.models import Alert, AlertSeverity, AlertState
from caged_tui import formatting as fmt
from caged_tui.safe_text import printable
from caged_tui.widgets.virtual_table import Cell, Column, ListSource, VirtualTable

COLUMNS: tuple[Column, ...] = (
    Column("severity", "SEVERITY", 8),
    Column("state", "STATE", 8),
    Column("rule", "RULE", 15),
    Column("title", "TITLE", 24),
    Column("message", "MESSAGE", 24),
    Column("sandbox", "SANDBOX", 13),
    Column("session", "SESSION", 12),
    Column("age", "AGE", 5),
)

_RANK = {AlertSeverity.CRITICAL: 0, AlertSeverity.WARNING: 1, AlertSeverity.INFO: 2}
_SEVERITIES = frozenset({"critical", "warning", "info"})


def alert_order(alert: Alert) -> tuple[int, int, float]:
    """Sort key: open first, then the most severe, then the newest."""
    created = alert.created_at.timestamp() if alert.created_at else 0.0
    return (alert.state != AlertState.OPEN, _RANK.get(alert.severity, 3), -created)


def alert_cells(alert: Alert, now: datetime) -> tuple[Cell, ...]:
    """An alert's row."""
    severity = alert.severity.value
    style = f"alert-table--{severity if severity in _SEVERITIES else 'info'}"
    state = "alert-table--open" if alert.state == AlertState.OPEN else "alert-table--closed"
    return (
        (severity, style),
        (alert.state.value, state),
        (printable(alert.rule_type) or fmt.DASH, ""),
        (fmt.one_line(printable(alert.title), 30), ""),
        (fmt.one_line(printable(alert.message), 30), ""),
        (printable(alert.sandbox_id) or fmt.DASH, ""),
        (printable(alert.session_id) or fmt.DASH, ""),
        (fmt.since(alert.created_at, now), ""),
    )


def alert_source(now: datetime) -> ListSource[Alert]:
    """An empty source of alerts keyed by id, in :func:`alert_order`."""
    source: ListSource[Alert] = ListSource(lambda a: a.id, alert_cells, now)
    source.view(filter=None, sort=alert_order, reverse=False)
    return source


class AlertTable(VirtualTable):
    """The alerts list, with marks for resolving several at once."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "alert-table--critical",
        "alert-table--warning",
        "alert-table--info",
        "alert-table--open",
        "alert-table--closed",
    }

    DEFAULT_CSS = """
    AlertTable > .alert-table--critical { color: $error; text-style: bold; }
    AlertTable > .alert-table--warning { color: $warning; text-style: bold; }
    AlertTable > .alert-table--info { color: $primary; }
    AlertTable > .alert-table--open { text-style: bold; }
    AlertTable > .alert-table--closed { color: $text-muted; }
    """

    def __init__(self, source: ListSource[Alert], *, id: str | None = None) -> None:
        super().__init__(COLUMNS, source, show_marks=True, id=id)
