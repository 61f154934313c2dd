"""The live feed's long-poll (caged_tui/live.py): a topic whose round fetch says the server
would hold it is fetched by a held request of its own, which rounds and max_wait then
leave alone; an answer the server did not hold (a platform at its cap, the hosted API)
hands the topic back to the rounds, which sleep meanwhile when every topic is held. The
held requests themselves are tested on the real platform
(tests/integration/platform/test_platform_longpoll.py, test_alerts_screen.py)."""

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


async def test_a_paced_topic_asks_whether_it_is_held_in_the_next_round() -> None:
    """Only a conditional GET can be held, so a first answer cannot tell: the header's
    counts (fetched every 10 s at most) ask in the very next round, not 10 s later."""
    clock = [0.0]
    rounds: list[str | None] = []

    async def fetch(client: Any, etag: str | None) -> Fetched[int]:
        rounds.append(etag)
        return Fetched(1 if etag is None else None, '"v1"')

    async def hold(client: Any, etag: str | None, wait: int) -> Fetched[int]:
        raise AssertionError("this server never says it holds")

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True, clock=lambda: clock[0])
        spec = TopicSpec("paced", fetch, min_interval=10.0, hold=hold)
        feed.subscribe(app, spec, lambda value: None)
        for second in (0.0, 2.0, 4.0, 6.0):
            clock[0] = second
            await feed.poll_once()
        assert rounds == [None, '"v1"']  # then its pace: a server that holds not, as hosted


async def test_the_rounds_sleep_while_every_topic_is_held() -> None:
    """Idle cost (issue 12): with every topic watched by a held request a round has nothing
    to fetch, so none runs (it used to wake every 2-30 s) until a hold hands its topic
    back — even with the round long overdue. A poke is never lost meanwhile (the wake-up
    was cleared on falling asleep: a poke during a round left the feed asleep for good)."""
    answers: asyncio.Queue[Fetched[int]] = asyncio.Queue()

    async def fetch(client: Any, etag: str | None) -> Fetched[int]:
        return Fetched(1, '"v1"', held=etag is not None)

    async def hold(client: Any, etag: str | None, wait: int) -> Fetched[int]:
        return await answers.get()

    app = _FeedApp()
    async with app.run_test():
        feed = LiveFeed(app, _no_client, lambda: True)
        feed.subscribe(app, TopicSpec("held", fetch, hold=hold), lambda value: None)
        await feed.poll_once()
        await feed.poll_once()
        topic = feed._topics["held"]
        await eventually_async(lambda: topic.holding, what="the held request")
        waiting = asyncio.create_task(feed._wait_for_round(due=0.0))  # overdue
        for _ in range(20):
            await asyncio.sleep(0)
        assert not waiting.done()
        await answers.put(Fetched(None, '"v1"', held=False))  # handed back to the rounds
        await asyncio.wait_for(waiting, 30)
        assert not topic.holding
        feed.poke()  # a poke while the feed is busy (during a round) is not lost either
        await asyncio.wait_for(feed._wait_for_round(due=feed._clock() + 3600), 30)
