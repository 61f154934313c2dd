"""Walking every page asks for the next one ahead when the server names it (``Link:
rel="next"``, the local platform's replay): before the page in hand is parsed, and only
ever another query of the same resource; the answer's own cursor still decides."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from client_fakes import FakeAPI
from eventually import TIMEOUT, eventually_async
from test_resources import replay_event

from caged_core.client import AsyncCaged
from caged_core.client._transport import APICore
from caged_core.errors import CagedError

PATH = "/v1/sessions/sess-1/replay"
LAST = 5


def _pages(link: Callable[[httpx.Request, int], str | None]) -> Callable[..., httpx.Response]:
    """Replay pages of two events up to :data:`LAST`, with the ``Link`` ``link`` gives
    for the request and the page's real next cursor (None: no header)."""

    def answer(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params.get("after_seq", "0"))
        if after >= 100:  # a cursor no answer gave
            return httpx.Response(404, text="404 page not found")
        events = [replay_event(s) for s in range(after + 1, min(after + 2, LAST) + 1)]
        more = after + 2 < LAST
        next_seq = events[-1]["sequence"]
        hint = link(request, int(str(next_seq))) if more else None
        body = {"events": events, "has_more": more, "next_seq": next_seq, "total": LAST}
        return httpx.Response(200, json=body, headers={"Link": hint} if hint else {})

    return answer


def _next(request: httpx.Request, cursor: int) -> str:
    """The platform's link: the request's own query, the cursor moved on."""
    query = request.url.params.set("after_seq", str(cursor))
    return f'<{request.url.path}?{query}>; rel="next"'


def _cursors(api: FakeAPI) -> list[str | None]:
    return [r.url.params.get("after_seq") for r in api.requests]


async def test_the_named_next_page_is_asked_for_before_this_one_is_read(
    api: FakeAPI, client: AsyncCaged
) -> None:
    api.route("GET", PATH, _pages(_next))
    seqs, asked = [], []
    async for event in client.sessions.replay("sess-1", limit=2):
        if event.sequence % 2:  # the first event of each page
            asked.append(len(api.requests))
        seqs.append(event.sequence)
    assert seqs == [1, 2, 3, 4, 5]
    # When a page's first event is handed out, the page after it has been asked for.
    assert asked == [2, 3, 3]
    assert _cursors(api) == [None, "2", "4"]
    assert all(r.url.params["limit"] == "2" for r in api.requests)


async def test_the_answer_decides_not_the_link(api: FakeAPI, client: AsyncCaged) -> None:
    """A link that disagrees with the answer's cursor is not followed: its request is
    dropped (failed, here, and quietly) and the answer's page is asked for."""
    api.route("GET", PATH, _pages(lambda request, cursor: _next(request, cursor + 100)))
    seqs = [e.sequence async for e in client.sessions.replay("sess-1", limit=2)]
    assert seqs == [1, 2, 3, 4, 5]
    assert _cursors(api) == [None, "102", "2", "104", "4"]


@pytest.mark.parametrize(
    "link",
    [
        "https://elsewhere.test/v1/sessions/sess-1/replay?limit=2&after_seq={cursor}",
        "https://api.test/v1/sessions/sess-1/replay?limit=2&after_seq={cursor}",
        "/v1/sessions/sess-2/replay?limit=2&after_seq={cursor}",
        "/v1/alerts?limit=2&after_seq={cursor}",
    ],
)
async def test_a_link_to_anything_but_this_resource_is_not_followed(
    api: FakeAPI, client: AsyncCaged, link: str
) -> None:
    hint = f'<{link}>; rel="next"'
    api.route("GET", PATH, _pages(lambda _request, cursor: hint.format(cursor=cursor)))
    seqs = [e.sequence async for e in client.sessions.replay("sess-1", limit=2)]
    assert seqs == [1, 2, 3, 4, 5]
    assert [(r.url.host, r.url.path) for r in api.requests] == [("api.test", PATH)] * 3
    assert _cursors(api) == [None, "2", "4"]


# --------------------------------------------------------------------------- on the wire


class _HeldServer:
    """An HTTP/1.1 server that reads each request's head and answers it only once
    :meth:`answer` allows one more: until then the request is on the wire and its
    answer has not come. The first page of a replay names the second."""

    def __init__(self) -> None:
        self.heads: asyncio.Queue[bytes] = asyncio.Queue()
        self._allowed = asyncio.Semaphore(0)
        self.server: asyncio.Server | None = None

    def answer(self) -> None:
        """Let one more request be answered."""
        self._allowed.release()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                await self.heads.put(head)
                try:
                    await self._allowed.acquire()
                except asyncio.CancelledError:
                    return  # the test is over: the held request is never answered
                first = b"after_seq" not in head
                page = {
                    "events": [replay_event(1), replay_event(2)] if first else [],
                    "has_more": first,
                    "next_seq": 2,
                    "total": 2,
                }
                body = json.dumps(page).encode()
                link = b'Link: </v1/sessions/sess-1/replay?after_seq=2>; rel="next"\r\n'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + (link if first else b"")
                    + b"Content-Length: %d\r\n\r\n" % len(body)
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"


@pytest.fixture
async def held() -> AsyncIterator[_HeldServer]:
    peer = _HeldServer()
    peer.server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    async with peer.server:
        yield peer


async def test_on_sent_is_called_once_the_request_is_on_the_wire(held: _HeldServer) -> None:
    core = APICore(api_key="caged_sk_test", base_url=held.url)
    try:
        sent = asyncio.Event()
        call = asyncio.create_task(core.request("GET", "/sessions/sess-1/replay", on_sent=sent.set))
        await asyncio.wait_for(sent.wait(), TIMEOUT)
        head = await asyncio.wait_for(held.heads.get(), TIMEOUT)
        assert head.startswith(b"GET /v1/sessions/sess-1/replay ")
        assert not call.done()  # sent, and not answered: the server holds it
        held.answer()
        assert (await asyncio.wait_for(call, TIMEOUT)).status_code == 200
    finally:
        await core.aclose()


async def test_leaving_a_walk_cancels_the_page_asked_for_ahead(held: _HeldServer) -> None:
    async with AsyncCaged(api_key="caged_sk_test", base_url=held.url) as caged:
        held.answer()  # the first page; the second, asked for ahead, is held
        # A timeout beyond the wait below: only the cancel may end the held request.
        walk: Any = aiter(caged.sessions.replay("sess-1", timeout=10 * TIMEOUT))
        first = await asyncio.wait_for(anext(walk), TIMEOUT)
        assert first.sequence == 1
        await asyncio.wait_for(held.heads.get(), TIMEOUT)
        ahead = await asyncio.wait_for(held.heads.get(), TIMEOUT)
        assert b"after_seq=2" in ahead
        await walk.aclose()  # as a consumer that breaks out, once collected
        mine = asyncio.current_task()
        await eventually_async(lambda: _settled(mine), what="the request asked ahead to end")


async def _settled(mine: asyncio.Task[Any] | None) -> bool:
    """Whether every task but this test's and the server's connections has ended."""
    return all(
        task is mine
        or task.done()
        or getattr(task.get_coro(), "__qualname__", "") == "_HeldServer.serve"
        for task in asyncio.all_tasks()
    )


async def test_a_page_asked_for_ahead_that_fails_fails_the_walk_where_it_is_needed(
    api: FakeAPI, client: AsyncCaged
) -> None:
    """The server gone (here: refusing) between two pages: the page in hand is handed out
    whole, then the walk raises the next page's error, as a walk without the link would."""
    pages = _pages(_next)

    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("after_seq") == "2":
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "gone"}})
        return pages(request)

    api.route("GET", PATH, failing)
    seqs: list[int] = []
    with pytest.raises(CagedError, match="404"):
        async for event in client.sessions.replay("sess-1", limit=2):
            seqs.append(event.sequence)
    assert seqs == [1, 2]
    assert _cursors(api) == [None, "2"]
