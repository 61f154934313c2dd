"""What the header shows about the platform, as one immutable value.

The app owns a single :class:`PlatformStatus` reactive; the header renders it.
Replacing the whole value (``dataclasses.replace``) keeps watchers simple.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from caged_core.models import Sandbox


class Connection(StrEnum):
    """The app's view of its link to the platform."""

    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    UNAUTHORIZED = "unauthorized"


@dataclass(frozen=True, slots=True)
class PlatformStatus:
    """The header's data.

    Attributes:
        connection: whether the last request reached the platform.
        reason: why the platform is not reachable (empty when online).
        unread: unread notifications, ``None`` when the platform lacks the feature.
        open_alerts: open alerts, ``None`` when the platform lacks the feature.
        isolation: isolation modes in use on the local platform (e.g. ``bwrap``).
        unisolated: ids of sandboxes running without isolation.
    """

    connection: Connection = Connection.CONNECTING
    reason: str = ""
    unread: int | None = None
    open_alerts: int | None = None
    isolation: tuple[str, ...] = ()
    unisolated: tuple[str, ...] = ()


def isolation_of(sandboxes: list[Sandbox]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The isolation modes in use, and the ids of sandboxes running with ``none``."""
    modes = sorted({sb.config.isolation for sb in sandboxes if sb.config and sb.config.isolation})
    unisolated = tuple(
        sb.id for sb in sandboxes if sb.config and sb.config.isolation == "none" and sb.is_active
    )
    return tuple(modes), unisolated
