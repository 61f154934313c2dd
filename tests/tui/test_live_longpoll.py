"""The live feed's long-poll (caged_tui/live.py): a topic whose round fetch says the server
would hold it is fetched by a held request of its own, which rounds and max_wait then
leave alone; an answer the server did not hold (a platform at its cap, the hosted API)
hands the topic back to the rounds. The held requests themselves are tested on the real
platform (tests/integration/platform/test_platform_longpoll.py, test_alerts_screen.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from eventually import eventually_async
from test_skeleton import _FeedApp, _no_client

from caged_tui.live import Fetched, LiveFeed, TopicSpec


async def test_a_held_topic_leaves_the_rounds_until_the_server_stops_holding() -> None:
    rounds: list[str | None] = []
    holds: list[int] = []
    answers: asyncio.Queue[Fetched[int]] = asyncio.Queue()

    async def fetch(client: Any, etag: str | None) -> Fetched[int]:
        rounds.append(etag)
        return Fetched(1, '"v1"', held=etag is not None)  # wait=0 answered: it would hold

    async def hold(client: Any, etag: str | None, wait: int) -> Fetched[int]:
        holds.append(wait)
        return await answers.get()

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True)
        got: list[int] = []
        spec = TopicSpec("held", fetch, max_wait=0.01, hold=hold)
        feed.subscribe(app, spec, got.append)
        await feed.poll_once()  # no ETag yet: nothing to hold
        topic = feed._topics["held"]
        assert not topic.holding
        await feed.poll_once()  # the server says it would hold: a held request goes out
        await eventually_async(lambda: holds, what="the held request")
        assert topic.holding and holds == [55]
        await feed.poll_once()
        await feed.poll_hurried()
        assert rounds == [None, '"v1"']  # neither a round nor max_wait fetched it again

        await answers.put(Fetched(2, '"v2"', held=True))  # a change, answered by the hold
        await eventually_async(lambda: got == [1, 2], what="the held answer published")
        assert topic.holding and topic.etag == '"v2"'

        await answers.put(Fetched(None, '"v2"', held=False))  # not held: back to rounds
        await eventually_async(lambda: not topic.holding, what="the hold to end")
        await feed.poll_once()  # and the rounds' wait=0 probe says whether to hold again
        assert rounds == [None, '"v1"', '"v2"'] and topic.holding
        feed._stop_holding()
