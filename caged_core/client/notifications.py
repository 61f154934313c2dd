"""``client.notifications``: the in-app inbox and delivery settings."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from caged_core.client._errors import invalid_request
from caged_core.client._pages import AsyncPaginator, Listing
from caged_core.client._resource import Resource
from caged_core.client._transport import Conditional, encode_path
from caged_core.models import (
    Notification,
    NotificationConfig,
    NotificationConfigUpdate,
    NotificationPage,
    UnreadCount,
)

__all__ = ["Notifications"]

# The contract pages notifications by ``limit`` only (no offset or cursor): one page.
_PAGE = Listing(TypeAdapter(NotificationPage), lambda page: page.notifications)
_UNREAD = TypeAdapter(UnreadCount)
_CONFIG = TypeAdapter(NotificationConfig)


class Notifications(Resource):
    """Read, count and acknowledge notifications; configure channels."""

    def list(
        self,
        *,
        limit: int | None = None,
        unread: bool | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginator[Notification]:
        """The newest ``limit`` notifications (one page; the API has no later pages);
        ``page.response.unread_count`` counts the unread ones."""
        return AsyncPaginator(
            self._core,
            "/notifications",
            _PAGE,
            params={"limit": limit, "unread": "true" if unread else None},
            timeout=timeout,
        )

    def list_unread(
        self, *, limit: int | None = None, timeout: float | None = None
    ) -> AsyncPaginator[Notification]:
        """Only unread notifications."""
        return self.list(limit=limit, unread=True, timeout=timeout)

    async def unread_count(self, *, timeout: float | None = None) -> int:
        """How many notifications are unread."""
        count = await self._core.call(
            "GET", "/notifications/unread-count", _UNREAD, timeout=timeout
        )
        return count.unread_count

    async def unread_count_if_changed(
        self, *, etag: str | None = None, wait: int | None = None, timeout: float | None = None
    ) -> Conditional[UnreadCount]:
        """The unread count, unless unchanged since the answer that carried ``etag``
        (then ``value`` is None); ``wait`` as for ``sandboxes.list_if_changed``."""
        return await self._core.call_if_changed(
            "/notifications/unread-count", _UNREAD, etag=etag, timeout=timeout, wait=wait
        )

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
