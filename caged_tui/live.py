"""The one live feed: a single worker polls what changes and publishes it.

Screens never poll. They subscribe to a *topic* (a name and how to fetch it)
with :meth:`LiveFeed.subscribe`; the app runs :meth:`LiveFeed.run` in one
worker, which fetches every topic that has a mounted subscriber and publishes
through a Textual :class:`~textual.signal.Signal` only what changed:

- **Conditional requests**: a topic's fetch receives the last ``ETag`` and may
  answer "unchanged" (``304``); without ETags (the hosted API) the value is
  compared with the last one instead, so subscribers still hear only changes.
- **Pace per topic**: a topic may ask to be fetched at most every
  ``min_interval`` seconds (the header's counts where not held: every 10 s), so a
  fast round costs only what needs to be fast; :meth:`poke` fetches everything.
- **Backoff**: every ``interval`` seconds while things change or the user is
  active; after a quiet round with an idle user (none yet, or none for
  :data:`IDLE_AFTER` s) the wait doubles up to ``idle_cap``. A key press or
  mouse click (:meth:`activity`) brings it back, and :meth:`poke` (``r``, an
  action that changed something) polls right away.
- **Hurry**: a topic with ``max_wait`` (a followed replay) is fetched at least
  that often whatever the pace, in small rounds of such topics only
  (:meth:`LiveFeed.poll_hurried`): following costs its own request and no other.
- **Long-poll**: a topic with a ``hold`` whose round fetch says the server would
  hold it (its conditional GET asks ``Prefer: wait=0`` and the answer carries
  ``Preference-Applied``) is from then on fetched by a held request of its own —
  the local platform answers when the value changes or after :data:`HOLD_WAIT` s —
  instead of in rounds, as long as the server keeps holding it. A server that does
  not (the hosted API ignores ``Prefer``; a platform holding too many requests) or
  a failure hands the topic back to the rounds, which poll it as before. A first
  answer cannot say (only a conditional GET is held): the next round asks, whatever
  the topic's pace.
  While every topic is held the rounds sleep until a poke or a hand-back: an idle
  app on the local platform sends no request and wakes for no round.
- **Pause**: nothing is fetched while ``foreground()`` is false (the terminal
  lost the focus, the app is suspended); :meth:`poke` resumes.
- **Health**: each round's outcome (online / offline with a reason /
  unauthorized) is published on :attr:`LiveFeed.health`, which the app turns
  into the header and the reconnection backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from textual.dom import DOMNode
from textual.signal import Signal

from caged_core.backoff import backoff
from caged_core.errors import CagedAPIError, CagedAuthError, CagedConnectionError
from caged_core.models import AlertState, Sandbox
from caged_tui.status import Connection

if TYPE_CHECKING:
    from caged_core.client import AsyncCaged

T = TypeVar("T")

#: Seconds without a key press or click after which the user counts as idle.
IDLE_AFTER = 10.0
#: The cap of the wait while the platform is unreachable.
OFFLINE_CAP = 30.0
#: Seconds a held request of a long-polled topic may wait for a change.
HOLD_WAIT = 55


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """What a topic's fetch returns: the value (None = unchanged) and its ETag."""

    value: T | None
    etag: str | None = None
    #: Whether the server held the request as asked (a long-poll; see :data:`Hold`).
    held: bool = False


#: How a topic is fetched: (client, last ETag) → :class:`Fetched`.
Fetch = Callable[["AsyncCaged", str | None], Awaitable[Fetched[T]]]
#: How a topic is long-polled: (client, last ETag, seconds the server may hold the
#: request) → :class:`Fetched`, whose ``held`` says whether it did. A topic's
#: ``fetch`` is then expected to ask for ``wait=0``: its ``held`` is how the feed
#: learns that the server long-polls.
Hold = Callable[["AsyncCaged", str | None, int], Awaitable[Fetched[T]]]


def unconditional(get: Callable[[AsyncCaged], Awaitable[T]]) -> Fetch[T]:
    """A fetch for endpoints without ETags: always the whole value."""

    async def fetch(client: AsyncCaged, etag: str | None) -> Fetched[T]:
        return Fetched(await get(client))

    return fetch


@dataclass(frozen=True, slots=True)
class TopicSpec(Generic[T]):
    """A topic as screens name it: a unique name, how to fetch it and how often at most."""

    name: str
    fetch: Fetch[T]
    min_interval: float = 0.0
    #: Whether a new value differs from the last only by drift that does not call for
    #: the fast pace (running sandboxes' costs grow every second); it is still
    #: published. None: every change keeps the pace.
    drift: Callable[[T, T], bool] | None = None
    #: While someone listens, fetched at least this often (seconds) whatever the feed's
    #: pace — idle backoff included — in rounds that fetch only such topics: a followed
    #: replay shows new events within a second. None: the feed's pace.
    max_wait: float | None = None
    #: A conditional fetch the server may hold until the value changes (long-poll);
    #: None: the topic is only ever polled.
    hold: Hold[T] | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """How the last round went."""

    connection: Connection
    reason: str = ""


class Topic(Generic[T]):
    """One thing the feed polls, the signal it publishes on and what it last saw."""

    def __init__(self, owner: DOMNode, spec: TopicSpec[T]) -> None:
        self.name = spec.name
        self.fetch = spec.fetch
        self.min_interval = spec.min_interval
        self.drift = spec.drift
        self.max_wait = spec.max_wait
        self.hold = spec.hold
        #: The task long-polling it, while one does (rounds then skip it).
        self.holder: asyncio.Task[None] | None = None
        #: Whether the last accepted value was a change that keeps the fast pace.
        self.lively = False
        #: When it was last fetched (monotonic seconds; None = never).
        self.fetched_at: float | None = None
        self.signal: Signal[T] = Signal(owner, spec.name)
        self.etag: str | None = None
        self.value: T | None = None
        self.known = False
        self.subscribers: WeakKeyDictionary[DOMNode, None] = WeakKeyDictionary()

    @property
    def active(self) -> bool:
        """Whether anyone mounted still listens."""
        return any(node.is_attached for node in list(self.subscribers))

    @property
    def holding(self) -> bool:
        """Whether a held request watches it now (it is not polled meanwhile)."""
        return self.holder is not None and not self.holder.done()

    def due(self, now: float) -> bool:
        """Whether its pace allows a fetch at ``now``."""
        return self.fetched_at is None or now - self.fetched_at >= self.min_interval

    def hurried(self, now: float) -> bool:
        """Whether its ``max_wait`` has run out at ``now`` (always False without one)."""
        if self.max_wait is None:
            return False
        # A timer may fire a hair early: 10 ms of slack keeps it from waiting a second round.
        return self.fetched_at is None or now - self.fetched_at >= self.max_wait - 0.01

    def accept(self, fetched: Fetched[T]) -> bool:
        """Take a fetch's answer; returns whether subscribers must hear of it."""
        if fetched.etag is not None:
            self.etag = fetched.etag
        self.lively = False
        if fetched.value is None or (self.known and fetched.value == self.value):
            return False
        old = self.value
        drifted = old is not None and self.drift is not None and self.drift(old, fetched.value)
        self.lively = not drifted
        self.value = fetched.value
        self.known = True
        return True


class LiveFeed:
    """The app's one poller (see the module docstring).

    Args:
        owner: the node the signals belong to (the app).
        client: returns the current client (it changes with the profile).
        foreground: whether polling makes sense now.
        interval: seconds between rounds while things change.
        idle_cap: the longest wait while nothing changes and the user is idle.
        clock: monotonic seconds (patched in tests).
    """

    def __init__(
        self,
        owner: DOMNode,
        client: Callable[[], AsyncCaged],
        foreground: Callable[[], bool],
        *,
        interval: float = 2.0,
        idle_cap: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owner = owner
        self._client = client
        self._foreground = foreground
        self.interval = interval
        self.idle_cap = idle_cap
        self._clock = clock
        self._topics: dict[str, Topic[Any]] = {}
        self._wake = asyncio.Event()
        #: The next round fetches every topic, whatever its pace (after a poke).
        self._everything = True
        #: When the user last pressed a key or clicked (None: not yet).
        self._last_activity: float | None = None
        #: The wait before the next round (grows while idle or offline).
        self.delay = interval
        #: Rounds in a row that earned a longer wait (quiet while idle, or offline).
        self._slow_rounds = 0
        self.rounds = 0
        self.health: Signal[Health] = Signal(owner, "health")

    # ------------------------------------------------------------------ subscribing

    def subscribe(self, node: DOMNode, spec: TopicSpec[T], callback: Callable[[T], object]) -> None:
        """Call ``callback`` (on ``node``'s message loop) with each new value of the
        topic, now with the last known one, and poll it until ``node`` goes.

        The newest subscriber's ``spec.fetch`` is the one used from now on: a fetch may be
        a closure over its screen (fetched only while that screen is in front), and a
        screen opened again must not be judged by the first one, long gone (seen: a
        sandbox's detail or snapshots opened a second time never updated)."""
        topic = self._topics.get(spec.name)
        if topic is None:
            topic = self._topics[spec.name] = Topic(self._owner, spec)
        else:
            topic.fetch, topic.hold = spec.fetch, spec.hold
        topic.subscribers[node] = None
        topic.signal.subscribe(node, callback)
        if topic.known:
            node.call_next(callback, topic.value)
        self.poke()

    def current(self, name: str) -> Any:
        """The last value published on ``name`` (None before the first)."""
        topic = self._topics.get(name)
        return topic.value if topic is not None else None

    def forget(self) -> None:
        """Drop every value and ETag (the profile changed: another platform)."""
        self._stop_holding()
        for topic in self._topics.values():
            topic.etag, topic.value, topic.known = None, None, False
        self.poke()

    # ------------------------------------------------------------------ pacing

    def poke(self) -> None:
        """Poll every topic now, at the fast pace (something changed, or the user asked)."""
        self.delay = self.interval
        self._slow_rounds = 0
        self._everything = True
        self._wake.set()

    def activity(self) -> None:
        """The user pressed a key or clicked: keep the fast pace."""
        self._last_activity = self._clock()
        if self.delay > self.interval:
            self.poke()

    @property
    def user_idle(self) -> bool:
        """Whether the user has done nothing yet, or nothing for :data:`IDLE_AFTER`
        seconds. An app nobody has touched since it started is idle: its first answers
        still come at the fast pace (they are changes), and the first key press polls
        at once."""
        last = self._last_activity
        return last is None or self._clock() - last >= IDLE_AFTER

    async def _sleep(self, delay: float | None) -> None:
        """Sleep ``delay`` seconds (None: until woken), then on while in the background.
        A wake-up that came while the feed was busy (a poke during a round) ends it at
        once: cleared on waking, not on falling asleep, it is never lost."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        self._wake.clear()
        while not self._foreground():
            await self._wake.wait()
            self._wake.clear()

    # ------------------------------------------------------------------ polling

    async def run(self) -> None:
        """Poll forever (the app runs this in its one live worker)."""
        try:
            while True:
                self.delay = await self.poll_once()
                await self._wait_for_round(self._clock() + self.delay)
        finally:
            self._stop_holding()

    def _stop_holding(self) -> None:
        for topic in self._topics.values():
            if topic.holder is not None:
                topic.holder.cancel()
                topic.holder = None

    async def _wait_for_round(self, due: float) -> None:
        """Sleep until ``due`` (or a poke), meanwhile fetching topics whose ``max_wait``
        runs out sooner."""
        while True:
            hurry = min((t.max_wait for t in self._topics.values()
                         if t.max_wait and t.active and not t.holding),
                        default=None)  # fmt: skip
            if not any(t.active and not t.holding for t in self._topics.values()):
                # Held requests watch every topic: nothing to poll until a poke, a new
                # subscriber or a hold handing its topic back wakes the feed (and the
                # topic handed back waits for the round that was due).
                await self._sleep(None)
                if self._everything:
                    return
                continue
            left = due - self._clock()
            if hurry is None or hurry >= left:
                await self._sleep(max(0.0, left))
                return
            await self._sleep(hurry)
            if self._everything:  # poked: a full round now
                return
            await self.poll_hurried()

    async def poll_hurried(self) -> None:
        """Fetch only the topics whose ``max_wait`` has run out (between full rounds).
        Failures wait for the next full round, which reports them."""
        for topic in list(self._topics.values()):
            now = self._clock()
            if topic.active and not topic.holding and topic.hurried(now):
                topic.fetched_at = now
                with contextlib.suppress(CagedAPIError, CagedConnectionError):
                    await self._poll(topic)

    async def poll_once(self) -> float:
        """One round over the active topics; returns the wait before the next."""
        self.rounds += 1
        changed = False
        everything, self._everything = self._everything, False
        # Topics never fetched go first: a screen just opened (one sandbox) must not
        # wait behind a long list (2,000 sandboxes take a second to parse).
        topics = sorted(self._topics.values(), key=lambda topic: topic.fetched_at is not None)
        try:
            for topic in topics:
                now = self._clock()
                if topic.holding or not (topic.active and (everything or topic.due(now))):
                    continue
                topic.fetched_at = now
                if await self._poll(topic) and topic.lively:
                    changed = True
        except CagedConnectionError as error:
            self.health.publish(Health(Connection.OFFLINE, str(error)))
            return self._slower(max(self.interval, 1.0), OFFLINE_CAP)
        except CagedAuthError as error:
            self.health.publish(Health(Connection.UNAUTHORIZED, str(error)))
            return OFFLINE_CAP
        self.health.publish(Health(Connection.ONLINE))
        if changed or not self.user_idle:
            self._slow_rounds = 0
            return self.interval
        # Backing off never polls faster than the active pace (an interval above the cap).
        return self._slower(self.interval, max(self.idle_cap, self.interval))

    def _slower(self, base: float, cap: float) -> float:
        """The wait after one more slow round: the one backoff formula, without jitter —
        each app's rounds keep the moment it started, so apps never poll in lockstep."""
        self._slow_rounds += 1
        return backoff(self._slow_rounds, base=base, cap=cap, draw=0.0)

    async def _poll(self, topic: Topic[Any]) -> bool:
        first = topic.etag is None
        try:
            fetched = await topic.fetch(self._client(), topic.etag)
        except CagedAuthError:
            raise
        except CagedAPIError:
            # One topic the platform refuses (a 404 for a feature it lacks, a 500)
            # must not starve the others; the next round tries again.
            return False
        published = await self._publish(topic, fetched)
        if topic.hold is None:
            return published
        if fetched.held:
            topic.holder = asyncio.create_task(self._hold(topic), name=f"hold {topic.name}")
        elif first and fetched.etag:
            # A first answer cannot say whether the server holds (only a conditional GET
            # is held): the next round asks, not the 10 s of a paced topic later. Not a
            # held try at once: against a server without ETags or ``Prefer`` (hosted) that
            # is a second download of the list before the first paint.
            topic.fetched_at = None
        return published

    async def _hold(self, topic: Topic[Any]) -> None:
        """Long-poll ``topic`` while the server holds its requests, someone listens and
        the app is in front; then the rounds take it back (and report any failure)."""
        assert topic.hold is not None
        try:
            while topic.active and self._foreground():
                try:
                    fetched = await topic.hold(self._client(), topic.etag, HOLD_WAIT)
                except (CagedAPIError, CagedConnectionError):
                    self.poke()  # a round now reports it (offline, a refusal)
                    return
                topic.fetched_at = self._clock()
                await self._publish(topic, fetched)
                if not fetched.held:
                    return
        finally:
            # The rounds may be asleep for good (every topic was held): they take it back.
            self._wake.set()

    async def _publish(self, topic: Topic[Any], fetched: Fetched[Any]) -> bool:
        if not topic.accept(fetched):
            return False
        topic.signal.publish(topic.value)
        # Let subscribers take it before the next fetch: the first list on
        # screen should not wait for the header's counts.
        await asyncio.sleep(0)
        return True


# ---------------------------------------------------------------------- app-wide topics

#: Statuses meaning "this platform does not have the feature" (the local one may lack some).
UNSUPPORTED = (404, 405, 501)


async def _sandboxes(client: AsyncCaged, etag: str | None) -> Fetched[list[Sandbox]]:
    # wait=0: answered at once, and ``held`` says whether the server can long-poll it.
    return await _sandboxes_held(client, etag, 0)


async def _sandboxes_held(
    client: AsyncCaged, etag: str | None, wait: int | None
) -> Fetched[list[Sandbox]]:
    answer = await client.sandboxes.list_if_changed(etag=etag, wait=wait)
    return Fetched(answer.value, answer.etag, answer.held)


@dataclass(frozen=True, slots=True)
class Tally:
    """A header badge's number: None where the platform lacks the feature."""

    count: int | None


async def _tally(get: Awaitable[Fetched[Tally]]) -> Fetched[Tally]:
    """``get``'s answer, or a badge without a number where the platform lacks the feature
    (the local one may lack some)."""
    try:
        return await get
    except CagedAPIError as error:
        if error.status not in UNSUPPORTED:
            raise
        return Fetched(Tally(None))


async def _unread(client: AsyncCaged, etag: str | None) -> Fetched[Tally]:
    # wait=0: answered at once, and ``held`` says whether the server can long-poll it.
    return await _tally(_unread_held(client, etag, 0))


async def _unread_held(client: AsyncCaged, etag: str | None, wait: int | None) -> Fetched[Tally]:
    answer = await client.notifications.unread_count_if_changed(etag=etag, wait=wait)
    count = answer.value
    return Fetched(None if count is None else Tally(count.unread_count), answer.etag, answer.held)


#: Alerts asked for per page when counting: one request covers most accounts, and the
#: walk goes on only while pages come back full (the contract has no state filter or
#: open-alert count; its ``total`` counts resolved alerts too).
COUNT_PAGE = 100
#: The validator kept after a count that needed more than the first page: none (an
#: empty one sends no ``If-None-Match``). The first page's ETag does not cover the
#: others, so such a count is walked again every round instead of held.
WALKED = ""


async def _open_alerts(client: AsyncCaged, etag: str | None) -> Fetched[Tally]:
    return await _tally(_open_alerts_held(client, etag, 0))


async def _open_alerts_held(
    client: AsyncCaged, etag: str | None, wait: int | None
) -> Fetched[Tally]:
    """Open alerts over every page; conditional (and held) while one page holds them all."""
    answer = await client.alerts.page_if_changed(limit=COUNT_PAGE, etag=etag or None, wait=wait)
    page = answer.value
    if page is None:
        return Fetched(None, answer.etag, answer.held)
    count = sum(alert.state == AlertState.OPEN for alert in page.alerts)
    shown = len(page.alerts)
    # As the paginator reads it: a total of 0 means uncounted, and then only a full
    # page says that more may follow.
    if (shown >= page.total) if page.total else shown < COUNT_PAGE:
        return Fetched(Tally(count), answer.etag, answer.held)
    rest = client.alerts.list(limit=COUNT_PAGE, offset=shown)
    count += sum([alert.state == AlertState.OPEN async for alert in rest])
    return Fetched(Tally(count), WALKED)


def _costs_only(old: list[Sandbox], new: list[Sandbox]) -> bool:
    """Whether only the costs moved (they grow every second a sandbox runs)."""
    if len(old) != len(new):
        return False
    return all(
        _costless(a.__dict__) == _costless(b.__dict__) for a, b in zip(old, new, strict=True)
    )


#: A sandbox's fields but its costs, read in C: copying each model without its costs took
#: as long as parsing the list (37 ms for 2,000 sandboxes).
_costless = operator.itemgetter(
    *(name for name in Sandbox.model_fields if name not in ("cost", "llm_cost", "total_cost"))
)


#: Every sandbox of the account (conditional where the platform sends ETags). Growing
#: costs are published but do not keep the fast pace: without that, any running
#: sandbox kept an idle app polling every 2 s.
SANDBOXES: TopicSpec[list[Sandbox]] = TopicSpec(
    "sandboxes", _sandboxes, drift=_costs_only, hold=_sandboxes_held
)
#: The header's unread notifications and open alerts: held where the platform long-polls
#: them (the local one: a badge changes the moment a notification or alert does, at no
#: cost meanwhile); elsewhere polled, and badges need not be fresher than 10 s.
UNREAD: TopicSpec[Tally] = TopicSpec(
    "unread", _unread, min_interval=10.0, hold=lambda c, e, w: _tally(_unread_held(c, e, w))
)
OPEN_ALERTS: TopicSpec[Tally] = TopicSpec(
    "alerts:open",
    _open_alerts,
    min_interval=10.0,
    hold=lambda c, e, w: _tally(_open_alerts_held(c, e, w)),
)
