"""Pages of a list: ``await`` a list call for one page, ``async for`` over it for every item.

Every list call of the client returns an :class:`AsyncPaginator`::

    page = await caged.alerts.list(limit=50)      # one page: page.items, page.total
    async for alert in caged.alerts.list():       # every alert, fetched page by page
        ...

The API pages its lists in three ways (see the contract): by ``offset`` against a ``total``
(alerts), by ``page`` number against ``total_pages`` (sessions), and by a cursor
(replay's ``after_seq = next_seq``); the other lists are one bare array. A
:class:`Listing` says how one endpoint's answer reads — its items, its total, and the query
of the page after it — so the walking itself is written once, here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar, overload

import httpx
from pydantic import ConfigDict, TypeAdapter

from caged_core.client._transport import APICore, parse_json

__all__ = [
    "AsyncPage",
    "AsyncPaginator",
    "Listing",
    "Params",
    "follow_cursor",
    "follow_offset",
    "follow_page_number",
]

T = TypeVar("T")
W = TypeVar("W")

Params = Mapping[str, Any]


def _no_next(answer: Any, items: Sequence[Any], params: Params) -> Params | None:
    return None


def _count_unknown(answer: Any) -> int | None:
    return None


#: Validators built on first use: the client has dozens, a start of the TUI needs two.
_DEFERRED = ConfigDict(defer_build=True)


def list_of(item: type[T]) -> TypeAdapter[list[T]]:
    """The parser of a JSON array of ``item``, built when first used (a model's own
    validator is deferred by its config; a list's adapter needs to be told)."""
    return TypeAdapter(list[item], config=_DEFERRED)  # type: ignore[valid-type]


@dataclass(frozen=True, slots=True)
class Listing(Generic[W, T]):
    """How one list endpoint's answer (of wire type ``W``) reads as a page of ``T``.

    Attributes:
        adapter: parses the answer.
        items: the page's items in the answer.
        follow: the query of the next page, from the answer, its items and this page's
            query; None when this page is the last.
        total: how many items all pages hold, when the answer says.
    """

    adapter: TypeAdapter[W]
    items: Callable[[W], list[T]]
    follow: Callable[[W, Sequence[T], Params], Params | None] = _no_next
    total: Callable[[W], int | None] = _count_unknown

    @staticmethod
    def array(adapter: TypeAdapter[list[T]]) -> Listing[list[T], T]:
        """A bare JSON array: one page holding everything."""
        return Listing(adapter, _itself, total=len)


def _itself(items: list[T]) -> list[T]:
    return items


def follow_offset(
    offset: int, limit: int, total: int, items: Sequence[Any], params: Params
) -> Params | None:
    """The next page of an ``offset``/``limit`` list whose answer counts ``total`` items.

    A ``total`` of 0 with items in hand means the server did not count them: then a full
    page (as many items as the ``limit``) is the only sign that more may follow.
    """
    if not items:
        return None
    after = offset + len(items)
    more = after < total if total else bool(limit) and len(items) >= limit
    return {**params, "offset": after} if more else None


def follow_page_number(
    page: int, per_page: int, total_pages: int, items: Sequence[Any], params: Params
) -> Params | None:
    """The next page of a ``page``/``per_page`` list whose answer counts ``total_pages``."""
    if not items:
        return None
    more = page < total_pages if total_pages else bool(per_page) and len(items) >= per_page
    return {**params, "page": page + 1} if more else None


def follow_cursor(name: str, cursor: int | None, has_more: bool, params: Params) -> Params | None:
    """The next page of a cursor-paged list (query parameter ``name``). A cursor that does
    not advance ends the walk: a server bug must not loop the client forever."""
    if not has_more or cursor is None or cursor == params.get(name):
        return None
    return {**params, name: cursor}


class AsyncPage(Sequence[T]):
    """One page of a list: a sequence of its own items, and the way to the next page.

    ``len(page)``, ``page[i]`` and ``for item in page`` see this page's items;
    ``async for item in page`` walks on through every later page (fetched as needed).
    """

    def __init__(
        self,
        items: list[T],
        *,
        total: int | None,
        response: Any,
        fetch_next: Callable[[], Awaitable[AsyncPage[T]]] | None,
    ) -> None:
        self._items = items
        self._total = total
        self._response = response
        self._fetch_next = fetch_next

    @property
    def items(self) -> list[T]:
        """This page's items."""
        return self._items

    @property
    def total(self) -> int | None:
        """How many items all pages hold, when the server says (None when it does not)."""
        return self._total

    @property
    def response(self) -> Any:
        """The decoded answer this page was read from — for fields beyond the items, such
        as a notification list's ``unread_count`` or a replay page's ``next_seq``."""
        return self._response

    def has_next_page(self) -> bool:
        """Whether another page follows this one."""
        return self._fetch_next is not None

    async def next_page(self) -> AsyncPage[T]:
        """Fetch the page after this one (:meth:`has_next_page` says whether there is one)."""
        if self._fetch_next is None:
            raise LookupError("this is the last page (see has_next_page)")
        return await self._fetch_next()

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page, then every later page."""
        page: AsyncPage[T] = self
        yield page
        while page.has_next_page():
            page = await page.next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page._items:
                yield item

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        # By content, like a list: the live feed tells a changed value from an equal one.
        if not isinstance(other, AsyncPage):
            return NotImplemented
        return (self._items, self._total) == (other._items, other._total)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._items[index]

    def __repr__(self) -> str:
        more = ", more follow" if self.has_next_page() else ""
        total = "" if self._total is None else f" of {self._total}"
        return f"<{type(self).__name__} {len(self._items)} items{total}{more}>"


class AsyncPaginator(Generic[T]):
    """What a list call returns: ``await`` it for the first page, ``async for`` over it
    for every item of every page. Nothing is sent until one of the two happens."""

    def __init__(
        self,
        core: APICore,
        path: str,
        listing: Listing[Any, T],
        *,
        params: Params | None = None,
        timeout: float | None = None,
    ) -> None:
        self._core = core
        self._path = path
        self._listing = listing
        self._params: Params = params or {}
        self._timeout = timeout

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._fetch(self._params).__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        # The pages' items straight from here, not through the page's own ``async for``:
        # each nested async generator costs every item (100,000 for a long replay) a step.
        # When the server names the next page (``Link: rel="next"``, the local platform's
        # replay), it is asked for before this one is parsed, so the server reads it
        # while the client parses; the answer's own cursor still decides which page
        # comes next (:meth:`_Ahead.matches`).
        params: Params = self._params
        response = await self._ask(params)
        ahead: _Ahead | None = None
        try:
            while True:
                ahead = await self._ask_ahead(response)
                page, after = self._read(params, response)
                for item in page.items:
                    yield item
                if after is None:
                    return
                if ahead is not None and ahead.matches(after):
                    response = await ahead.task
                else:
                    if ahead is not None:
                        ahead.task.cancel()
                    response = await self._ask(after)
                params = after
        finally:
            if ahead is not None:
                ahead.task.cancel()

    async def _fetch(self, params: Params) -> AsyncPage[T]:
        return self._read(params, await self._ask(params))[0]

    async def _ask(
        self, params: Params, on_sent: Callable[[], None] | None = None
    ) -> httpx.Response:
        return await self._core.request(
            "GET", self._path, params=params, timeout=self._timeout, on_sent=on_sent
        )

    def _read(self, params: Params, response: httpx.Response) -> tuple[AsyncPage[T], Params | None]:
        """The page of ``response`` (the answer to ``params``) and the next page's query."""
        listing = self._listing
        answer = parse_json(response, listing.adapter)
        items = listing.items(answer)
        after = listing.follow(answer, items, params)
        page = AsyncPage(
            items,
            total=listing.total(answer),
            response=answer,
            fetch_next=None if after is None else lambda: self._fetch(after),
        )
        return page, after

    async def _ask_ahead(self, response: httpx.Response) -> _Ahead | None:
        """Ask for the page the server named as next to ``response``; return once the
        request is on the wire (None when the server named none)."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        url = httpx.URL(link)
        # Only another query of this same resource: the key goes nowhere else.
        if url.path != response.request.url.path or url.host:
            return None
        hinted = dict(url.params)
        sent = asyncio.get_running_loop().create_future()

        def on_sent(*_: object) -> None:
            if not sent.done():
                sent.set_result(None)

        task = asyncio.create_task(self._ask(hinted, on_sent))
        task.add_done_callback(_retrieved)
        task.add_done_callback(on_sent)
        try:
            await sent
        except BaseException:
            task.cancel()
            raise
        return _Ahead(httpx.QueryParams(hinted), task)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} GET {self._path}>"


class _Ahead(NamedTuple):
    """A page asked for ahead of need: its query, and the request on its way."""

    query: httpx.QueryParams
    task: asyncio.Task[httpx.Response]

    def matches(self, params: Params) -> bool:
        """Whether this is the request ``params`` would send (as the core drops ``None``)."""
        return self.query == httpx.QueryParams({k: v for k, v in params.items() if v is not None})


def _retrieved(task: asyncio.Task[httpx.Response]) -> None:
    # A page asked for ahead and then not needed may have failed: nobody awaits it, and
    # its error must not be reported as never retrieved.
    if not task.cancelled():
        task.exception()
