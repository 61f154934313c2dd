"""``client.alerts``: alerts and the rules that raise them."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import Any

from pydantic import TypeAdapter

from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path
from caged_core.models import Alert, AlertPage, AlertRule

__all__ = ["Alerts"]

_ALERT = TypeAdapter(Alert)
_ALERT_PAGE = TypeAdapter(AlertPage)
_RULE = TypeAdapter(AlertRule)
_RULES = TypeAdapter(list[AlertRule])


class Alerts(Resource):
    """Budget, cost, stuck-agent, error and trust alerts."""

    async def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> AlertPage:
        """A page of alerts, newest first (iterable; ``total`` counts all)."""
        return await self._core.call(
            "GET",
            "/alerts",
            _ALERT_PAGE,
            params={"limit": limit, "offset": offset},
            timeout=timeout,
        )

    async def iter_all(
        self, *, per_page: int = 100, timeout: float | None = None
    ) -> AsyncIterator[Alert]:
        """Every alert, newest first, across as many pages as it takes (a count or a filter
        over one page would be wrong past the first ``per_page``)."""
        offset = 0
        while True:
            page = await self.list(limit=per_page, offset=offset, timeout=timeout)
            for alert in page.alerts:
                yield alert
            offset += len(page.alerts)
            if not page.alerts or offset >= page.total:
                return

    async def get(self, alert_id: str, *, timeout: float | None = None) -> Alert:
        """One alert."""
        return await self._core.call(
            "GET", encode_path("/alerts/{}", alert_id), _ALERT, timeout=timeout
        )

    async def resolve(self, alert_id: str, *, timeout: float | None = None) -> None:
        """Mark an alert resolved."""
        await self._core.act("POST", encode_path("/alerts/{}/resolve", alert_id), timeout=timeout)

    async def list_rules(self, *, timeout: float | None = None) -> builtins.list[AlertRule]:
        """The account's alert rules."""
        return await self._core.call("GET", "/alerts/rules", _RULES, timeout=timeout)

    async def update_rule(
        self,
        rule_id: str,
        *,
        enabled: bool | None = None,
        config: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> AlertRule:
        """Enable/disable a rule or change its config (0 = server default)."""
        body = {k: v for k, v in {"enabled": enabled, "config": config}.items() if v is not None}
        return await self._core.call(
            "PUT", encode_path("/alerts/rules/{}", rule_id), _RULE, json=body, timeout=timeout
        )
