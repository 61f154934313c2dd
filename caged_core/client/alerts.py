"""``client.alerts``: alerts and the rules that raise them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from caged_core.client._pages import AsyncPaginator, Listing, Params, follow_offset, list_of
from caged_core.client._resource import Resource
from caged_core.client._transport import Conditional, encode_path
from caged_core.models import Alert, AlertPage, AlertRule

__all__ = ["Alerts"]

_ALERT = TypeAdapter(Alert)
_RULE = TypeAdapter(AlertRule)
_RULES = Listing.array(list_of(AlertRule))


def _after(page: AlertPage, items: Sequence[Alert], params: Params) -> Params | None:
    # The offset asked for, not the one echoed: a server that omits it must not loop us.
    limit = page.limit or params.get("limit") or 0
    return follow_offset(params.get("offset") or 0, limit, page.total, items, params)


_PAGE = TypeAdapter(AlertPage)
_ALERTS = Listing(_PAGE, lambda page: page.alerts, _after, lambda p: p.total)


class Alerts(Resource):
    """Budget, cost, stuck-agent, error and trust alerts."""

    def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginator[Alert]:
        """Alerts, newest first: ``await`` for the page of ``limit`` from ``offset``
        (``total`` counts all), ``async for`` for every alert from there on."""
        return AsyncPaginator(
            self._core,
            "/alerts",
            _ALERTS,
            params={"limit": limit, "offset": offset},
            timeout=timeout,
        )

    async def page_if_changed(
        self,
        *,
        limit: int | None = None,
        etag: str | None = None,
        wait: int | None = None,
        timeout: float | None = None,
    ) -> Conditional[AlertPage]:
        """The newest page of ``limit`` alerts, unless unchanged since the answer that
        carried ``etag`` (then ``value`` is None); ``wait`` as for
        ``sandboxes.list_if_changed``."""
        return await self._core.call_if_changed(
            "/alerts", _PAGE, etag=etag, params={"limit": limit}, timeout=timeout, wait=wait
        )

    async def get(self, alert_id: str, *, timeout: float | None = None) -> Alert:
        """One alert."""
        return await self._core.call(
            "GET", encode_path("/alerts/{}", alert_id), _ALERT, timeout=timeout
        )

    async def resolve(self, alert_id: str, *, timeout: float | None = None) -> None:
        """Mark an alert resolved."""
        await self._core.act("POST", encode_path("/alerts/{}/resolve", alert_id), timeout=timeout)

    def list_rules(self, *, timeout: float | None = None) -> AsyncPaginator[AlertRule]:
        """The account's alert rules (one page)."""
        return AsyncPaginator(self._core, "/alerts/rules", _RULES, timeout=timeout)

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
