"""``AsyncCaged``: the asynchronous client for the whole Caged API."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

from caged_core.client._retry import RetryPolicy
from caged_core.client._transport import DEFAULT_TIMEOUT, APICore
from caged_core.client.account import Account
from caged_core.client.alerts import Alerts
from caged_core.client.billing import Billing
from caged_core.client.events import Events
from caged_core.client.files import Files
from caged_core.client.notifications import Notifications
from caged_core.client.sandboxes import Sandboxes
from caged_core.client.sessions import Sessions
from caged_core.client.snapshots import Snapshots
from caged_core.models import RateLimit, SocketTicket

__all__ = ["AsyncCaged"]


class AsyncCaged:
    """Asynchronous client for the hosted Caged platform or a local one.

    Args:
        api_key: the ``caged_sk_…`` key. When ``None`` it is resolved by
            :func:`caged_core.config.resolve_credentials` (``CAGED_API_KEY``,
            the keyring, the official CLI's config), as is the base URL.
        base_url: the platform, without ``/v1``. Precedence: this argument,
            ``CAGED_API_URL``, the profile's URL, ``https://api.caged.dev``.
        profile: the config profile used when resolving what is not given.
        timeout: seconds per call when the call has no budget of its own
            (create 360 s, exec 300 s); every method also takes ``timeout=``.
        max_retries: repeats of idempotent calls (GET/PUT/DELETE) after a
            connection error, 429 or 502/503/504. ``POST`` is never repeated.
        retry: the full retry policy (backoff, caps, injectable sleep); when
            given, ``max_retries`` is taken from it instead.
        transport: an ``httpx`` transport to send through, e.g.
            ``httpx.MockTransport(handler)`` in tests.

    Use it as ``async with AsyncCaged(...) as caged:`` or call :meth:`aclose`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        profile: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if api_key is None or base_url is None:
            from caged_core.config import resolve_credentials

            credentials = resolve_credentials(profile=profile, api_key=api_key, base_url=base_url)
            api_key, base_url = credentials.api_key, credentials.base_url
        self._core = APICore(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry or RetryPolicy(max_retries=max_retries),
            transport=transport,
        )
        self.sandboxes = Sandboxes(self._core)
        self.files = Files(self._core)
        self.snapshots = Snapshots(self._core)
        self.sessions = Sessions(self._core)
        self.events = Events(self._core)
        self.alerts = Alerts(self._core)
        self.notifications = Notifications(self._core)
        self.account = Account(self._core)
        self.billing = Billing(self._core)

    @property
    def base_url(self) -> str:
        """The platform's URL, without ``/v1``."""
        return self._core.base_url

    @property
    def rate_limit(self) -> RateLimit:
        """Limit, remaining and reset from the last response that carried them."""
        return self._core.rate_limit

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._core.is_closed

    async def socket_ticket(self, *, timeout: float | None = None) -> SocketTicket:
        """A single-use, one-minute credential for one WebSocket handshake.
        The socket methods fetch their own; this is for custom sockets."""
        from caged_core.client.realtime._socket import request_ticket

        return await request_ticket(self._core, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connection pool; the client cannot be used afterwards."""
        await self._core.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self.is_closed else "open"
        return f"<AsyncCaged {self.base_url} {state}>"
