"""``client.notifications``: the in-app inbox and delivery settings."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from caged_core.client._errors import invalid_request
from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path
from caged_core.models import (
    NotificationConfig,
    NotificationConfigUpdate,
    NotificationPage,
    UnreadCount,
)

__all__ = ["Notifications"]

_PAGE = TypeAdapter(NotificationPage)
_UNREAD = TypeAdapter(UnreadCount)
_CONFIG = TypeAdapter(NotificationConfig)


class Notifications(Resource):
    """Read, count and acknowledge notifications; configure channels."""

    async def list(
        self,
        *,
        limit: int | None = None,
        unread: bool | None = None,
        timeout: float | None = None,
    ) -> NotificationPage:
        """Notifications (iterable), with the unread count."""
        return await self._core.call(
            "GET",
            "/notifications",
            _PAGE,
            params={"limit": limit, "unread": "true" if unread else None},
            timeout=timeout,
        )

    async def list_unread(
        self, *, limit: int | None = None, timeout: float | None = None
    ) -> NotificationPage:
        """Only unread notifications."""
        return await self.list(limit=limit, unread=True, timeout=timeout)

    async def unread_count(self, *, timeout: float | None = None) -> int:
        """How many notifications are unread."""
        count = await self._core.call(
            "GET", "/notifications/unread-count", _UNREAD, timeout=timeout
        )
        return count.unread_count

    async def mark_read(self, notification_id: str, *, timeout: float | None = None) -> None:
        """Mark one notification read."""
        await self._core.act(
            "POST", encode_path("/notifications/{}/read", notification_id), timeout=timeout
        )

    async def mark_all_read(self, *, timeout: float | None = None) -> None:
        """Mark every notification read."""
        await self._core.act("POST", "/notifications/read-all", timeout=timeout)

    async def get_config(self, *, timeout: float | None = None) -> NotificationConfig:
        """Channel settings; credentials appear only as ``*_configured``/``*_hint``."""
        return await self._core.call("GET", "/notifications/config", _CONFIG, timeout=timeout)

    async def update_config(
        self, /, *, timeout: float | None = None, **fields: Any
    ) -> NotificationConfig:
        """Change only the given fields (``enabled_channels``, ``slack_channel_id``,
        ``email_address``, ``slack_webhook_url``, ``discord_webhook_url``);
        ``NotificationConfigUpdate.CLEAR`` removes a stored webhook."""
        try:
            update = NotificationConfigUpdate(**fields)
        except ValidationError as err:
            raise invalid_request("notification settings", err) from None
        return await self._core.call(
            "PUT", "/notifications/config", _CONFIG, json=update.to_body(), timeout=timeout
        )
