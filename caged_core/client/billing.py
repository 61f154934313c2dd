"""``client.billing``: plan, usage and the Stripe links (hosted platform only)."""

from __future__ import annotations

from pydantic import TypeAdapter

from caged_core.client._resource import Resource
from caged_core.models import CheckoutSession, Subscription, Usage

__all__ = ["Billing"]

_SUBSCRIPTION = TypeAdapter(Subscription)
_USAGE = TypeAdapter(Usage)
_LINK = TypeAdapter(CheckoutSession)


class Billing(Resource):
    """Subscription, usage and checkout/portal links. The local platform
    answers the Stripe calls with 501 (→ :class:`CagedServerError`)."""

    async def get_subscription(self, *, timeout: float | None = None) -> Subscription:
        """The plan (``tier``, also as ``plan``) and its status."""
        return await self._core.call("GET", "/billing/subscription", _SUBSCRIPTION, timeout=timeout)

    async def get_usage(self, *, timeout: float | None = None) -> Usage:
        """Compute minutes used this period."""
        return await self._core.call("GET", "/billing/usage", _USAGE, timeout=timeout)

    async def create_checkout(self, plan: str, *, timeout: float | None = None) -> str:
        """A Stripe Checkout URL for upgrading to ``plan`` (``pro`` or ``team``)."""
        link = await self._core.call(
            "POST", "/billing/checkout", _LINK, json={"plan_id": plan}, timeout=timeout
        )
        return link.url

    async def create_portal(self, *, timeout: float | None = None) -> str:
        """A Stripe customer-portal URL."""
        link = await self._core.call("POST", "/billing/portal", _LINK, json={}, timeout=timeout)
        return link.url

    async def cancel(self, *, timeout: float | None = None) -> None:
        """Cancel at the end of the current period."""
        await self._core.act("POST", "/billing/cancel", timeout=timeout)
