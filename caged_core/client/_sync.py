"""``Caged``: the blocking facade over :class:`AsyncCaged`, with the seed's names.

Nothing here knows the API. Each sync resource lists the async methods it
exposes, and a descriptor turns each into a blocking call that runs on one
event loop in a private daemon thread (the "portal"). That loop owns the
HTTP connection pool, so the facade works with or without a running loop in
the caller's thread — even from inside ``async def main()``, as the seed's
examples do.

The socket methods (``terminal``, ``exec_stream``, ``mcp``) stay awaitable:
the socket must live on the *caller's* loop, where it is iterated. Their
HTTP part (the socket ticket) still runs on the portal, because the client's
core sends any request started on a foreign loop to its home loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from caged_core.client._client import AsyncCaged
from caged_core.client._pages import AsyncPage, AsyncPaginator
from caged_core.client._resource import Resource
from caged_core.client._retry import RetryPolicy
from caged_core.client._transport import DEFAULT_TIMEOUT
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

__all__ = ["Caged", "Page"]

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound=Resource)

_END = object()


class _Portal:
    """An event loop running forever on a private daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="caged-sync-client", daemon=True
        )
        self._thread.start()

    def call(self, fn: Callable[P, Coroutine[Any, Any, T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the portal and wait for its result."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a Caged call from inside its own loop would deadlock")
        if self.loop.is_closed():
            raise RuntimeError("this Caged client has been closed")
        return asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self.loop).result()

    def iterate(self, iterator: AsyncIterator[T]) -> Iterator[T]:
        """Pull an async iterator item by item through the portal."""
        while True:
            item = self.call(_next_or_end, iterator)
            if item is _END:
                return
            yield item  # type: ignore[misc]  # _END is the only non-T value

    def shutdown(self, final: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``final()`` on the loop, then stop the loop and its thread."""
        if self.loop.is_closed():
            return
        if threading.current_thread() is self._thread:
            # Garbage-collected on the portal itself: it cannot wait for itself.
            task = self.loop.create_task(final())
            task.add_done_callback(lambda _: self.loop.stop())
            return
        with contextlib.suppress(Exception):  # closing must not fail the caller
            self.call(final)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


async def _next_or_end(iterator: AsyncIterator[T]) -> T | object:
    # StopAsyncIteration cannot cross run_coroutine_threadsafe; a sentinel can.
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _END


class Page(Generic[T]):
    """One page of a list, blocking: ``for item in page`` walks every item of this page and
    of every later one (fetched as needed); ``len(page)``, ``page[i]`` and :attr:`items`
    see this page only. The twin of :class:`AsyncPage`, whose ``async for`` walks on."""

    def __init__(self, page: AsyncPage[T], portal: _Portal) -> None:
        self._page = page
        self._portal = portal

    @property
    def items(self) -> list[T]:
        """This page's items."""
        return self._page.items

    @property
    def total(self) -> int | None:
        """How many items all pages hold, when the server says (None when it does not)."""
        return self._page.total

    @property
    def response(self) -> Any:
        """The decoded answer this page was read from (see :attr:`AsyncPage.response`)."""
        return self._page.response

    def has_next_page(self) -> bool:
        """Whether another page follows this one."""
        return self._page.has_next_page()

    def next_page(self) -> Page[T]:
        """Fetch the page after this one (:meth:`has_next_page` says whether there is one)."""
        return Page(self._portal.call(self._page.next_page), self._portal)

    def iter_pages(self) -> Iterator[Page[T]]:
        """This page, then every later page."""
        for page in self._portal.iterate(self._page.iter_pages()):
            yield Page(page, self._portal)

    def __iter__(self) -> Iterator[T]:
        return self._portal.iterate(aiter(self._page))

    def __len__(self) -> int:
        return len(self._page)

    def __getitem__(self, index: int) -> T:
        return self._page[index]

    def __repr__(self) -> str:
        return repr(self._page).replace("AsyncPage", "Page", 1)


class _SyncResource(Generic[R]):
    """A resource whose methods block; built around the async one."""

    def __init__(self, resource: R, portal: _Portal) -> None:
        self._resource = resource
        self._portal = portal

    def __repr__(self) -> str:
        return f"<sync {self._resource!r}>"


class _Delegate:
    """Base of the descriptors: names the async method to wrap and keeps its docstring."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self._name = method.__name__
        self.__doc__ = method.__doc__

    def _target(self, obj: _SyncResource[Any]) -> Any:
        return getattr(obj._resource, self._name)


class _Blocking(_Delegate, Generic[R, P, T]):
    """The async method, made blocking: it runs on the portal and waits."""

    def __init__(self, method: Callable[Concatenate[R, P], Coroutine[Any, Any, T]]) -> None:
        super().__init__(method)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _SyncResource[R], owner: type[Any]) -> Callable[P, T]: ...
    def __get__(self, obj: _SyncResource[R] | None, owner: type[Any]) -> Self | Callable[P, T]:
        if obj is None:
            return self
        method: Callable[P, Coroutine[Any, Any, T]] = self._target(obj)
        portal = obj._portal

        @functools.wraps(method)
        def blocking(*args: P.args, **kwargs: P.kwargs) -> T:
            return portal.call(method, *args, **kwargs)

        return blocking


class _Paging(_Delegate, Generic[R, P, T]):
    """A list method: fetches its first page on the portal, as a :class:`Page`."""

    def __init__(self, method: Callable[Concatenate[R, P], AsyncPaginator[T]]) -> None:
        super().__init__(method)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _SyncResource[R], owner: type[Any]) -> Callable[P, Page[T]]: ...
    def __get__(
        self, obj: _SyncResource[R] | None, owner: type[Any]
    ) -> Self | Callable[P, Page[T]]:
        if obj is None:
            return self
        method: Callable[P, AsyncPaginator[T]] = self._target(obj)
        portal = obj._portal

        @functools.wraps(method)
        def paging(*args: P.args, **kwargs: P.kwargs) -> Page[T]:
            return Page(portal.call(_first_page, method(*args, **kwargs)), portal)

        return paging


async def _first_page(paginator: AsyncPaginator[T]) -> AsyncPage[T]:
    return await paginator


class _InCallersLoop(_Delegate, Generic[R, P, T]):
    """A socket method, returned as is: its awaitable or async iterator runs on
    the caller's loop, where the socket must live."""

    def __init__(self, method: Callable[Concatenate[R, P], T]) -> None:
        super().__init__(method)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _SyncResource[R], owner: type[Any]) -> Callable[P, T]: ...
    def __get__(self, obj: _SyncResource[R] | None, owner: type[Any]) -> Self | Callable[P, T]:
        if obj is None:
            return self
        method: Callable[P, T] = self._target(obj)
        return method


class SyncSandboxes(_SyncResource[Sandboxes]):
    """Blocking ``caged.sandboxes`` (see :class:`Sandboxes`)."""

    create = _Blocking(Sandboxes.create)
    list = _Paging(Sandboxes.list)
    list_if_changed = _Blocking(Sandboxes.list_if_changed)
    templates = _Blocking(Sandboxes.templates)
    get = _Blocking(Sandboxes.get)
    destroy = _Blocking(Sandboxes.destroy)
    pause = _Blocking(Sandboxes.pause)
    resume = _Blocking(Sandboxes.resume)
    exec = _Blocking(Sandboxes.exec)
    logs = _Paging(Sandboxes.logs)
    ports = _Paging(Sandboxes.ports)
    trust_scores = _Paging(Sandboxes.trust_scores)
    terminal_sessions = _Paging(Sandboxes.terminal_sessions)
    terminal = _InCallersLoop(Sandboxes.terminal)
    reconnecting_terminal = _InCallersLoop(Sandboxes.reconnecting_terminal)
    exec_stream = _InCallersLoop(Sandboxes.exec_stream)
    mcp = _InCallersLoop(Sandboxes.mcp)


class SyncFiles(_SyncResource[Files]):
    """Blocking ``caged.files`` (see :class:`Files`)."""

    list = _Paging(Files.list)
    read = _Blocking(Files.read)
    write = _Blocking(Files.write)
    git_diff = _Blocking(Files.git_diff)
    walk = _Blocking(Files.walk)
    head = _Blocking(Files.head)
    make_dir = _Blocking(Files.make_dir)
    rename = _Blocking(Files.rename)
    delete = _Blocking(Files.delete)
    git_status = _Blocking(Files.git_status)


class SyncSnapshots(_SyncResource[Snapshots]):
    """Blocking ``caged.snapshots`` (see :class:`Snapshots`)."""

    list = _Paging(Snapshots.list)
    create = _Blocking(Snapshots.create)
    get = _Blocking(Snapshots.get)
    delete = _Blocking(Snapshots.delete)
    download = _Blocking(Snapshots.download)
    download_url = _Blocking(Snapshots.download_url)
    download_to = _Blocking(Snapshots.download_to)
    restore = _Blocking(Snapshots.restore)
    fork = _Blocking(Snapshots.fork)


class SyncSessions(_SyncResource[Sessions]):
    """Blocking ``caged.sessions`` (see :class:`Sessions`)."""

    list = _Paging(Sessions.list)
    list_by_sandbox = _Paging(Sessions.list_by_sandbox)
    get = _Blocking(Sessions.get)
    replay = _Paging(Sessions.replay)
    replay_summary = _Blocking(Sessions.replay_summary)


class SyncEvents(_SyncResource[Events]):
    """Blocking ``caged.events`` (see :class:`Events`)."""

    ingest = _Blocking(Events.ingest)


class SyncAlerts(_SyncResource[Alerts]):
    """Blocking ``caged.alerts`` (see :class:`Alerts`)."""

    list = _Paging(Alerts.list)
    page_if_changed = _Blocking(Alerts.page_if_changed)
    get = _Blocking(Alerts.get)
    resolve = _Blocking(Alerts.resolve)
    list_rules = _Paging(Alerts.list_rules)
    update_rule = _Blocking(Alerts.update_rule)


class SyncNotifications(_SyncResource[Notifications]):
    """Blocking ``caged.notifications`` (see :class:`Notifications`)."""

    list = _Paging(Notifications.list)
    list_unread = _Paging(Notifications.list_unread)
    unread_count = _Blocking(Notifications.unread_count)
    unread_count_if_changed = _Blocking(Notifications.unread_count_if_changed)
    mark_read = _Blocking(Notifications.mark_read)
    mark_all_read = _Blocking(Notifications.mark_all_read)
    get_config = _Blocking(Notifications.get_config)
    update_config = _Blocking(Notifications.update_config)


class SyncAccount(_SyncResource[Account]):
    """Blocking ``caged.account`` (see :class:`Account`)."""

    get = _Blocking(Account.get)
    list_keys = _Paging(Account.list_keys)
    create_key = _Blocking(Account.create_key)
    revoke_key = _Blocking(Account.revoke_key)
    list_sessions = _Paging(Account.list_sessions)
    revoke_session = _Blocking(Account.revoke_session)


class SyncBilling(_SyncResource[Billing]):
    """Blocking ``caged.billing`` (see :class:`Billing`)."""

    get_subscription = _Blocking(Billing.get_subscription)
    get_usage = _Blocking(Billing.get_usage)
    create_checkout = _Blocking(Billing.create_checkout)
    create_portal = _Blocking(Billing.create_portal)
    cancel = _Blocking(Billing.cancel)


class Caged:
    """The blocking client: ``with Caged(api_key=...) as caged: caged.sandboxes.list()``.

    Takes the same arguments as :class:`AsyncCaged` and exposes the same
    resources and method names; every call blocks until done, except
    ``sandboxes.terminal/exec_stream/mcp``, which are awaited in your own
    event loop. Close it with :meth:`close` or a ``with`` block (it is also
    closed when garbage-collected).
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
        client = AsyncCaged(
            api_key,
            base_url=base_url,
            profile=profile,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            transport=transport,
        )
        self._portal = portal = _Portal()
        client._core.bind_home_loop(portal.loop)
        self._async = client
        self._finalizer = weakref.finalize(self, portal.shutdown, client.aclose)
        self.sandboxes = SyncSandboxes(client.sandboxes, portal)
        self.files = SyncFiles(client.files, portal)
        self.snapshots = SyncSnapshots(client.snapshots, portal)
        self.sessions = SyncSessions(client.sessions, portal)
        self.events = SyncEvents(client.events, portal)
        self.alerts = SyncAlerts(client.alerts, portal)
        self.notifications = SyncNotifications(client.notifications, portal)
        self.account = SyncAccount(client.account, portal)
        self.billing = SyncBilling(client.billing, portal)

    @property
    def async_client(self) -> AsyncCaged:
        """The :class:`AsyncCaged` underneath (its loop is the private one)."""
        return self._async

    @property
    def base_url(self) -> str:
        """The platform's URL, without ``/v1``."""
        return self._async.base_url

    @property
    def rate_limit(self) -> RateLimit:
        """Limit, remaining and reset from the last response that carried them."""
        return self._async.rate_limit

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called (or the client was collected)."""
        return not self._finalizer.alive

    def socket_ticket(self, *, timeout: float | None = None) -> SocketTicket:
        """A single-use, one-minute WebSocket credential."""
        return self._portal.call(self._async.socket_ticket, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool and stop the private loop."""
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.is_closed else "open"
        return f"<Caged {self.base_url} {state}>"
